/**
 * The core services in this process on the real PostgreSQL: `ApiKeys` on `PgKeyRepository` through
 * a pg pool the caller owns (so it can count statements), with the direct usage sink and in-process
 * invalidations. The same wiring as `apps/api`'s embedded mode, minus HTTP.
 */
import { PgClient } from "@effect/sql-pg"
import {
  ApiKeys,
  Invalidations,
  KeyCache,
  KeysConfig,
  SecureRandom,
  UsageRecorder,
  UsageSink
} from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { PgKeyRepository } from "@keys/postgres"
import { Context, Effect, Exit, Layer, Redacted, Runtime, Scope } from "effect"
import type pg from "pg"
import { onCleanup } from "./Cleanup.js"

export interface Services {
  readonly keys: ApiKeys.ApiKeys["Type"]
  readonly cache: KeyCache.KeyCache["Type"]
  readonly usage: UsageRecorder.UsageRecorder["Type"]
  /** `keys.verify` as a Promise, through one runtime. */
  readonly verify: (token: string) => Promise<boolean>
  readonly flush: () => Promise<void>
  readonly close: () => Promise<void>
}

export const make = async (pool: pg.Pool, settings: Partial<KeysConfig.Settings>): Promise<Services> => {
  const client = PgClient.layerFromPool({ acquire: Effect.succeed(pool) })
  const layer = ApiKeys.layerWithCompanions.pipe(
    Layer.provideMerge(UsageSink.layerDirect),
    Layer.provideMerge(PgKeyRepository.layer()),
    Layer.provideMerge(client),
    Layer.provide(
      Layer.mergeAll(
        KeyHasherLive,
        SecureRandom.layer,
        Invalidations.layerInProcess,
        KeysConfig.layer(settings)
      )
    )
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  const keys = Context.get(context, ApiKeys.ApiKeys)
  const usage = Context.get(context, UsageRecorder.UsageRecorder)
  const runPromise = Runtime.runPromise(Runtime.defaultRuntime)
  const close = onCleanup(() => Effect.runPromise(Scope.close(scope, Exit.void)))
  return {
    keys,
    cache: Context.get(context, KeyCache.KeyCache),
    usage,
    verify: (token) => runPromise(keys.verify(Redacted.make(token))).then((result) => result.valid),
    flush: () => Effect.runPromise(usage.flush),
    close
  }
}
