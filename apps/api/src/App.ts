/**
 * The whole API as one layer: store (PostgreSQL or embedded PGlite), core services, HTTP server.
 * `main.ts` launches it from the environment; tests build it with their own settings.
 */
import { BullMqUsageSink, Redis } from "@keys/bullmq"
import {
  ApiKeys,
  ExpiryNotifications,
  KeysConfig,
  SecureRandom,
  UsageSink,
  WebhookNotifier
} from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { PgStore } from "@keys/postgres"
import { Config, Effect, Layer, Option } from "effect"
import * as ApiMetrics from "./ApiMetrics.js"
import * as Bootstrap from "./Bootstrap.js"
import * as Http from "./Http.js"

export const listenConfig: Config.Config<Http.ListenOptions> = Config.all({
  port: Config.withDefault(Config.port("PORT"), 8080),
  host: Config.withDefault(Config.string("HOST"), "127.0.0.1")
})

/**
 * Where background work happens. In process (no Redis): usage goes straight to the store and the
 * expiry scan runs on a schedule here. With Redis: usage batches go to the BullMQ queue and the
 * worker (`pnpm start:worker`) scans and delivers.
 */
export type Jobs =
  | { readonly _tag: "InProcess" }
  | { readonly _tag: "Queues"; readonly redis: Layer.Layer<Redis.RedisSettings, unknown> }

const jobsLayer = (jobs: Jobs) =>
  jobs._tag === "Queues"
    ? BullMqUsageSink.layer.pipe(Layer.provide(jobs.redis))
    : Layer.merge(
        UsageSink.layerDirect,
        ExpiryNotifications.layerInProcess().pipe(Layer.provide(WebhookNotifier.layerConfig))
      )

/** Core services on a store, with the jobs wiring. */
export const servicesOn = <E1, E2>(
  store: Layer.Layer<PgStore.Store, E1>,
  settings: Layer.Layer<KeysConfig.KeysConfig, E2>,
  jobs: Jobs = { _tag: "InProcess" }
) =>
  ApiKeys.layerWithCompanions.pipe(
    Layer.provideMerge(jobsLayer(jobs)),
    Layer.provideMerge(store),
    Layer.provideMerge(Layer.mergeAll(KeyHasherLive, SecureRandom.layer, settings))
  )

/** The running API: services, HTTP server, then the first-start root key printed with its address. */
export const make = <E1, E2>(
  store: Layer.Layer<PgStore.Store, E1>,
  settings: Layer.Layer<KeysConfig.KeysConfig, E2>,
  listen: Http.ListenOptions,
  jobs: Jobs = { _tag: "InProcess" }
) =>
  Layer.effectDiscard(Effect.flatMap(Http.ApiServer, (server) => Bootstrap.onFirstStart(server.url))).pipe(
    Layer.provideMerge(Http.layer(listen)),
    Layer.provideMerge(ApiMetrics.layer),
    Layer.provideMerge(servicesOn(store, settings, jobs))
  )

/** Everything from the environment (contract section 5). */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const listen = yield* listenConfig
    const redisUrl = yield* Config.option(Config.redacted("REDIS_URL"))
    const jobs: Jobs = Option.isSome(redisUrl)
      ? { _tag: "Queues", redis: Redis.layerConfig }
      : { _tag: "InProcess" }
    return make(PgStore.layerConfig, KeysConfig.layerConfig, listen, jobs)
  })
)
