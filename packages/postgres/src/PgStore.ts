/**
 * The store, wired: PostgreSQL when a URL is given, else the embedded PGlite database under a data
 * directory. Both run the same migrations and the same SQL; they differ in how invalidations travel
 * (LISTEN/NOTIFY between instances, or in process for the single embedded one).
 */
import { PgClient } from "@effect/sql-pg"
import type { SqlClient, SqlError } from "@effect/sql"
import type { DeliveryOutbox, Errors, KeyRepository } from "@keys/core"
import { Invalidations } from "@keys/core"
import { Config, type ConfigError, Effect, Layer, Option, type Redacted } from "effect"
import * as PgDeliveryOutbox from "./PgDeliveryOutbox.js"
import * as PgEmbedded from "./PgEmbedded.js"
import * as PgInvalidations from "./PgInvalidations.js"
import * as PgKeyRepository from "./PgKeyRepository.js"
import * as PgMigrations from "./PgMigrations.js"

export type Store =
  | KeyRepository.KeyRepository
  | DeliveryOutbox.DeliveryOutbox
  | Invalidations.Invalidations
  | SqlClient.SqlClient
  | PgClient.PgClient

export interface ServerOptions extends PgKeyRepository.Options {
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 10). */
  readonly maxConnections?: number
}

/** Migrations run before the repository serves: a process never sees an older schema. */
const storeOn = <E>(
  client: Layer.Layer<SqlClient.SqlClient | PgClient.PgClient, E>,
  invalidations: Layer.Layer<Invalidations.Invalidations, never, SqlClient.SqlClient>,
  options: PgKeyRepository.Options
): Layer.Layer<Store, E | Errors.StoreUnavailable> =>
  Layer.mergeAll(PgKeyRepository.layer(options), PgDeliveryOutbox.layer, invalidations).pipe(
    Layer.provideMerge(Layer.merge(client, PgMigrations.layer.pipe(Layer.provide(client))))
  )

/** PostgreSQL at `url`, with LISTEN/NOTIFY invalidations. */
export const layer = (options: ServerOptions) =>
  storeOn(
    PgClient.layer({
      url: options.url,
      maxConnections: options.maxConnections ?? 10,
      applicationName: "keys"
    }),
    PgInvalidations.layer({ url: options.url }),
    options
  )

/** PGlite under `dataDir`: one process owns it, so invalidations stay in process. */
export const layerEmbedded = (options: { readonly dataDir: string } & PgKeyRepository.Options) =>
  storeOn(
    PgEmbedded.layer({ dataDir: options.dataDir }),
    Layer.effect(Invalidations.Invalidations, Invalidations.makeInProcess),
    options
  )

export interface StoreConfig {
  readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
  readonly dataDir: string
}

export const config: Config.Config<StoreConfig> = Config.all({
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  dataDir: Config.withDefault(Config.string("KEYS_DATA_DIR"), ".keys")
})

export type StoreError = SqlError.SqlError | Errors.StoreUnavailable | PgEmbedded.EmbeddedDatabaseError

/** `DATABASE_URL` when set, else the embedded database under `KEYS_DATA_DIR` (default `.keys`). */
export const layerConfig: Layer.Layer<Store, StoreError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, ({ databaseUrl, dataDir }) =>
    Option.match(databaseUrl, {
      onNone: (): Layer.Layer<Store, StoreError> => layerEmbedded({ dataDir }),
      onSome: (url): Layer.Layer<Store, StoreError> => layer({ url })
    })
  )
)
