/**
 * Test harness: a fresh PostgreSQL database per test file (the machine's server at 127.0.0.1:5432,
 * trust auth, dropped afterwards) with the whole keys API running on it in process, on port 0.
 */
import { randomBytes } from "node:crypto"
import * as App from "@keys/api/src/App.js"
import * as Http from "@keys/api/src/Http.js"
import { ApiKeys, KeysConfig, RootKeys } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { TestDatabase } from "@keys/postgres/testing"
import { Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"

export const { ADMIN_URL, freshDatabase } = TestDatabase

export interface RunningApi {
  readonly url: string
  /** A new root key (keys:read, keys:write, keys:verify, plus admin when asked) for `teamId`. */
  readonly rootKey: (teamId: string, options?: { readonly admin?: boolean }) => Promise<string>
  /** A key with exactly these scopes, minted directly through the API's services. */
  readonly keyWith: (teamId: string, scopes: ReadonlyArray<string> | null) => Promise<string>
  readonly close: () => Promise<void>
}

/** The API on a fresh database, quiet logs; `close` stops it and drops the database. */
export const startApi = async (): Promise<RunningApi> => {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
    const layer = App.make(PgStore.layer({ url }), KeysConfig.layer(), { port: 0, host: "127.0.0.1" }).pipe(
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(Effect.orDie))
    const run = <A, E>(effect: Effect.Effect<A, E, ApiKeys.ApiKeys>) =>
      Effect.runPromise(Effect.provide(effect, context))
    const server = context.unsafeMap.get(Http.ApiServer.key) as Http.ApiServer["Type"]
    return {
      url: server.url,
      rootKey: (teamId, options) =>
        run(RootKeys.create({ teamId, name: `root ${teamId}`, admin: options?.admin ?? false })).then(
          (created) => Redacted.value(created.secret)
        ),
      keyWith: (teamId, scopes) =>
        run(
          Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
            keys.create({ teamId, name: `key ${teamId}`, scopes: scopes === null ? null : [...scopes] })
          )
        ).then((created) => Redacted.value(created.secret)),
      close: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  } catch (error) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  }
}

/** A team id no other test uses. */
export const uniqueTeam = (label = "team"): string => `${label}_${randomBytes(5).toString("hex")}`
