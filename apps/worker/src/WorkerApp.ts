/**
 * The worker as one layer: store, queues, the three consumers, and a small HTTP server for
 * `/healthz` and `/metrics`. Closing the layer stops taking jobs, lets the job in hand finish, and
 * closes connections.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { BullMqDeliveryQueue, Redis, Workers } from "@keys/bullmq"
import { ExpiryNotifications, KeysConfig, SecureRandom, WebhookNotifier } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { Config, Context, Effect, Layer } from "effect"

export class WorkerServer extends Context.Tag("@keys/worker/WorkerServer")<
  WorkerServer,
  { readonly url: string; readonly stats: Workers.WorkerStats }
>() {}

const renderMetrics = (
  stats: Workers.WorkerStats,
  depths: ReadonlyArray<{ queue: string; counts: Record<string, number> }>
) => {
  const lines = [
    "# TYPE keys_worker_usage_jobs_total counter",
    `keys_worker_usage_jobs_total ${stats.usageJobs}`,
    "# HELP keys_worker_usage_statements_total SQL statements that applied usage batches.",
    "# TYPE keys_worker_usage_statements_total counter",
    `keys_worker_usage_statements_total ${stats.usageStatements}`,
    "# TYPE keys_worker_usage_failures_total counter",
    `keys_worker_usage_failures_total ${stats.usageFailures}`,
    "# TYPE keys_worker_scans_total counter",
    `keys_worker_scans_total ${stats.scans}`,
    "# TYPE keys_worker_scan_failures_total counter",
    `keys_worker_scan_failures_total ${stats.scanFailures}`,
    "# TYPE keys_worker_claimed_total counter",
    `keys_worker_claimed_total ${stats.claimed}`,
    "# HELP keys_worker_notifications_sent_total Webhook deliveries that succeeded.",
    "# TYPE keys_worker_notifications_sent_total counter",
    `keys_worker_notifications_sent_total ${stats.delivered}`,
    "# TYPE keys_worker_delivery_failures_total counter",
    `keys_worker_delivery_failures_total ${stats.deliveryFailures}`,
    "# TYPE keys_worker_dead_letters_total counter",
    `keys_worker_dead_letters_total ${stats.dead}`,
    "# HELP keys_worker_job_duration_seconds Time spent per job kind.",
    "# TYPE keys_worker_job_duration_seconds summary"
  ]
  for (const [name, entry] of Object.entries(stats.durations)) {
    lines.push(`keys_worker_job_duration_seconds_sum{job="${name}"} ${entry.seconds}`)
    lines.push(`keys_worker_job_duration_seconds_count{job="${name}"} ${entry.count}`)
  }
  lines.push("# HELP keys_worker_queue_jobs Jobs per queue and state.", "# TYPE keys_worker_queue_jobs gauge")
  for (const { queue, counts } of depths) {
    for (const [state, count] of Object.entries(counts))
      lines.push(`keys_worker_queue_jobs{queue="${queue}",state="${state}"} ${count}`)
  }
  return `${lines.join("\n")}\n`
}

const serve = (port: number, host: string) =>
  Layer.scoped(
    WorkerServer,
    Effect.gen(function* () {
      const stats = Workers.makeStats()
      yield* Effect.forkScoped(Workers.runUsage(stats))
      yield* Effect.forkScoped(Workers.runDeliveries(stats))
      yield* Workers.runExpiryScan(stats)
      const depths = yield* Workers.queueDepths
      const runtime = yield* Effect.runtime<never>()
      const server = createServer((req, res) => {
        if (req.url === "/healthz") {
          res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}')
        } else if (req.url === "/metrics") {
          void Effect.runPromiseExit(Effect.provide(depths, runtime.context)).then((exit) => {
            const body = renderMetrics(stats, exit._tag === "Success" ? exit.value : [])
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body)
          })
        } else {
          res
            .writeHead(404, { "content-type": "application/json" })
            .end('{"code":"not_found","message":"No such route."}')
        }
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(port, host, () => resume(Effect.void))),
        () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const address = server.address() as AddressInfo
      yield* Effect.logInfo("worker started").pipe(Effect.annotateLogs({ port: address.port }))
      return { url: `http://${address.address}:${address.port}`, stats }
    })
  )

/** The worker on a store and Redis; `listen` is where `/healthz` and `/metrics` answer. */
export const make = <E1, E2, E3>(
  store: Layer.Layer<PgStore.Store, E1>,
  redis: Layer.Layer<Redis.RedisSettings, E2>,
  settings: Layer.Layer<KeysConfig.KeysConfig, E3>,
  listen: { readonly port: number; readonly host: string },
  notifier = WebhookNotifier.layerConfig
) =>
  serve(listen.port, listen.host).pipe(
    Layer.provideMerge(ExpiryNotifications.layer),
    Layer.provideMerge(BullMqDeliveryQueue.layer),
    Layer.provideMerge(Layer.mergeAll(store, redis, settings, notifier, SecureRandom.layer))
  )

export const listenConfig = Config.all({
  port: Config.withDefault(Config.port("WORKER_PORT"), 8081),
  host: Config.withDefault(Config.string("HOST"), "127.0.0.1")
})

/** From the environment: DATABASE_URL and REDIS_URL are required. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const listen = yield* listenConfig
    const url = yield* Config.redacted("DATABASE_URL")
    return make(PgStore.layer({ url }), Redis.layerConfig, KeysConfig.layerConfig, listen)
  })
)
