/**
 * Redis connections for the queues. Producers fail fast (no offline queue, bounded retries): a
 * verification flush must never wait on a Redis outage. Workers block on Redis and retry forever,
 * as BullMQ requires. Every BullMQ key lives under the configured prefix.
 */
import { Config, type ConfigError, Context, Duration, Effect, Layer, Redacted } from "effect"
import { Redis, type RedisOptions } from "ioredis"

export interface Settings {
  readonly url: Redacted.Redacted<string>
  /** BullMQ key prefix, so several deployments or test runs share one Redis safely. */
  readonly prefix: string
}

export class RedisSettings extends Context.Tag("@keys/bullmq/RedisSettings")<RedisSettings, Settings>() {}

export const layer = (settings: Settings): Layer.Layer<RedisSettings> =>
  Layer.succeed(RedisSettings, settings)

export const config: Config.Config<Settings> = Config.all({
  url: Config.redacted("REDIS_URL"),
  prefix: Config.withDefault(Config.string("KEYS_REDIS_PREFIX"), "keys")
})

export const layerConfig: Layer.Layer<RedisSettings, ConfigError.ConfigError> = Layer.effect(
  RedisSettings,
  config
)

export type Role = "producer" | "worker"

const options = (role: Role): RedisOptions =>
  role === "producer"
    ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, lazyConnect: false }
    : { maxRetriesPerRequest: null, enableOfflineQueue: true }

/**
 * A connection closed with the scope; errors are swallowed here and surface on commands instead.
 * A producer waits (briefly) for its first connection: without an offline queue, commands sent
 * before it is ready would fail. If Redis is down at start, it starts anyway and fails fast.
 */
export const connect = (settings: Settings, role: Role) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const redis = new Redis(Redacted.value(settings.url), options(role))
      // Without a listener ioredis prints every reconnection error; the queues report failures.
      redis.on("error", () => undefined)
      return redis
    }),
    (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
  ).pipe(
    Effect.tap((redis) =>
      role === "producer" && redis.status !== "ready"
        ? Effect.async<void>((resume) => {
            const ready = () => resume(Effect.void)
            redis.once("ready", ready)
            return Effect.sync(() => redis.off("ready", ready))
          }).pipe(Effect.timeout(Duration.seconds(3)), Effect.ignore)
        : Effect.void
    )
  )
