/**
 * The worker's consumers:
 * - usage: pulls every waiting batch (up to a bound) and applies them in ONE statement, then
 *   completes or fails them together (BullMQ's documented manual processing: `getNextJob`);
 * - expiry scan: a BullMQ job scheduler every `KEYS_EXPIRY_SCAN_EVERY`, each run claiming and
 *   relaying through `ExpiryNotifications.scan`;
 * - deliveries: one webhook call per job, retried with backoff by BullMQ; after the last try the
 *   delivery is recorded dead.
 */
import { randomUUID } from "node:crypto"
import { ExpiryNotifications, KeyRepository, KeysConfig, Usage } from "@keys/core"
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq"
import { Duration, Effect, Either, Exit, Runtime, Schedule } from "effect"
import { DELIVERIES, DELIVERY_ATTEMPTS, decodeUsageBatch, EXPIRY_SCAN, USAGE } from "./Queues.js"
import { connect, RedisSettings } from "./Redis.js"

export interface WorkerStats {
  usageJobs: number
  usageStatements: number
  usageFailures: number
  scans: number
  scanFailures: number
  claimed: number
  delivered: number
  deliveryFailures: number
  dead: number
  readonly durations: Record<string, { count: number; seconds: number }>
}

export const makeStats = (): WorkerStats => ({
  usageJobs: 0,
  usageStatements: 0,
  usageFailures: 0,
  scans: 0,
  scanFailures: 0,
  claimed: 0,
  delivered: 0,
  deliveryFailures: 0,
  dead: 0,
  durations: {}
})

/** Entries merged into one usage statement at most (plus the last batch taken). */
export const MAX_ENTRIES_PER_STATEMENT = 2 * Usage.MAX_ENTRIES_PER_BATCH

const entriesOf = (job: Job): number => {
  const entries = (job.data as { readonly entries?: unknown } | undefined)?.entries
  return Array.isArray(entries) ? entries.length : 0
}

const timed = (stats: WorkerStats, name: string, started: number) => {
  const entry = stats.durations[name] ?? { count: 0, seconds: 0 }
  stats.durations[name] = entry
  entry.count++
  entry.seconds += (performance.now() - started) / 1000
}

const closeWorker = (worker: Worker) => Effect.promise(() => worker.close().catch(() => undefined))

/**
 * The usage consumer; runs until interrupted, finishing the batch in hand. Its connections live in a
 * scope of its own, closed only after the loop has stopped: closing them first would leave the loop
 * polling a closed worker, and the batch in hand unacknowledged.
 */
export const runUsage = (stats: WorkerStats, options: { readonly maxBatchesPerStatement?: number } = {}) =>
  Effect.scoped(
    Effect.gen(function* () {
      const settings = yield* RedisSettings
      const repository = yield* KeyRepository.KeyRepository
      const connection = yield* connect(settings, "worker")
      const worker = yield* Effect.acquireRelease(
        Effect.sync(
          () =>
            new Worker(USAGE, null, {
              connection,
              prefix: settings.prefix,
              autorun: false,
              // Bounds each blocking wait (seconds): a shutdown waits at most this long.
              drainDelay: 1,
              lockDuration: 60_000
            })
        ),
        closeWorker
      )
      worker.on("error", () => undefined)
      // Manual processing must run the stalled-job check itself: a crashed worker's batches come back.
      yield* Effect.promise(() => worker.startStalledCheckTimer())
      const token = randomUUID()
      const max = options.maxBatchesPerStatement ?? 100

      // Batches waiting are merged into one statement, up to `max` of them and about
      // MAX_ENTRIES_PER_STATEMENT entries, so a statement stays well within the store's timeout.
      const takeWaiting = Effect.promise(async () => {
        const first: Job | undefined = await worker.getNextJob(token, { block: true })
        if (first === undefined) return []
        const jobs = [first]
        let entries = entriesOf(first)
        while (jobs.length < max && entries < MAX_ENTRIES_PER_STATEMENT) {
          const next: Job | undefined = await worker.getNextJob(token, { block: false })
          if (next === undefined) break
          jobs.push(next)
          entries += entriesOf(next)
        }
        return jobs
      })

      const processJobs = (jobs: ReadonlyArray<Job>) =>
        Effect.gen(function* () {
          const started = performance.now()
          const batches: Array<Usage.UsageBatch> = []
          const valid: Array<Job> = []
          for (const job of jobs) {
            const decoded = decodeUsageBatch(job.data)
            if (Either.isRight(decoded)) {
              batches.push(decoded.right)
              valid.push(job)
            } else {
              yield* Effect.promise(() =>
                job.moveToFailed(new UnrecoverableError("not a usage batch"), token, false)
              )
            }
          }
          if (batches.length === 0) return
          const applied = yield* Effect.either(repository.applyUsageBatches(batches))
          if (Either.isRight(applied)) {
            stats.usageJobs += valid.length
            stats.usageStatements++
            yield* Effect.promise(() =>
              Promise.all(valid.map((job) => job.moveToCompleted("applied", token, false)))
            )
            yield* Effect.logDebug("usage batches applied").pipe(
              Effect.annotateLogs({ batches: batches.length })
            )
          } else {
            stats.usageFailures += valid.length
            const error = new Error(applied.left.message)
            yield* Effect.promise(() =>
              Promise.all(valid.map((job) => job.moveToFailed(error, token, false)))
            )
            yield* Effect.logWarning("usage batches failed; BullMQ retries them").pipe(
              Effect.annotateLogs({ batches: batches.length, error: applied.left.message })
            )
          }
          timed(stats, "usage", started)
        })

      // Each round is uninterruptible: a taken batch is applied and acknowledged, or failed back.
      yield* takeWaiting.pipe(
        Effect.flatMap((jobs) => processJobs(jobs)),
        Effect.uninterruptible,
        Effect.catchAllDefect((defect) =>
          // Redis gone, most likely: wait before asking again rather than spin.
          Effect.logError("usage worker round failed").pipe(
            Effect.annotateLogs({ defect: String(defect) }),
            Effect.zipRight(Effect.sleep(Duration.seconds(1)))
          )
        ),
        // Between rounds the fiber yields, so an interruption lands there and never mid-batch.
        Effect.zipLeft(Effect.yieldNow()),
        Effect.forever
      )
    })
  )

/** The expiry scan on a BullMQ job scheduler, and its consumer. */
export const runExpiryScan = (stats: WorkerStats) =>
  Effect.gen(function* () {
    const settings = yield* RedisSettings
    const notifications = yield* ExpiryNotifications.ExpiryNotifications
    const { expiryScanEvery } = yield* KeysConfig.KeysConfig
    const runtime = yield* Effect.runtime<never>()
    const producer = yield* connect(settings, "worker")
    const queue = yield* Effect.acquireRelease(
      Effect.sync(() => new Queue(EXPIRY_SCAN, { connection: producer, prefix: settings.prefix })),
      (queue) => Effect.promise(() => queue.close().catch(() => undefined))
    )
    queue.on("error", () => undefined)
    // Idempotent across workers: one scheduler id, whatever the number of workers upserting it.
    const upsert = Effect.tryPromise(() =>
      queue.upsertJobScheduler("expiry-scan", { every: Duration.toMillis(expiryScanEvery) }, { name: "scan" })
    )
    yield* Effect.ignore(upsert)
    // A Redis that restarted empty has no scheduler: upsert again on every reconnection, and
    // every minute in case a reconnection went unseen.
    producer.on("ready", () => void Runtime.runPromise(runtime)(Effect.ignore(upsert)))
    yield* upsert.pipe(
      Effect.ignore,
      Effect.repeat(Schedule.spaced(Duration.minutes(1))),
      Effect.delay(Duration.minutes(1)),
      Effect.forkScoped
    )
    // Deliveries a crash left claimed but not enqueued go out now, not at the next scan.
    yield* notifications.relay.pipe(Effect.ignoreLogged)
    const connection = yield* connect(settings, "worker")
    const worker = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Worker(
            EXPIRY_SCAN,
            async () => {
              const started = performance.now()
              const exit = await Runtime.runPromiseExit(runtime)(notifications.scan)
              timed(stats, "scan", started)
              if (Exit.isFailure(exit)) {
                stats.scanFailures++
                throw new Error("expiry scan failed: the store is unavailable")
              }
              stats.scans++
              stats.claimed += exit.value.claimed
              return exit.value
            },
            { connection, prefix: settings.prefix, concurrency: 1 }
          )
      ),
      closeWorker
    )
    worker.on("error", () => undefined)
  })

/** The delivery consumer: one notification per job; the dead-letter record after the last try. */
export const runDeliveries = (stats: WorkerStats, options: { readonly concurrency?: number } = {}) =>
  Effect.gen(function* () {
    const settings = yield* RedisSettings
    const notifications = yield* ExpiryNotifications.ExpiryNotifications
    const runtime = yield* Effect.runtime<never>()
    const run = Runtime.runPromiseExit(runtime)
    const connection = yield* connect(settings, "worker")
    const worker = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Worker<{ deliveryId: string }>(
            DELIVERIES,
            async (job) => {
              const started = performance.now()
              const exit = await run(notifications.deliver(job.data.deliveryId))
              timed(stats, "delivery", started)
              if (Exit.isFailure(exit)) {
                stats.deliveryFailures++
                const reason = Exit.match(exit, { onFailure: (cause) => String(cause), onSuccess: () => "" })
                throw new Error(reason.split("\n")[0]!.slice(0, 500))
              }
              if (exit.value === "delivered") stats.delivered++
              return exit.value
            },
            { connection, prefix: settings.prefix, concurrency: options.concurrency ?? 10 }
          )
      ),
      closeWorker
    )
    worker.on("error", () => undefined)
    worker.on("failed", (job, error) => {
      if (job === undefined || job.attemptsMade < (job.opts.attempts ?? DELIVERY_ATTEMPTS)) return
      stats.dead++
      void run(notifications.giveUp(job.data.deliveryId, error.message))
    })
  })

/** Queue depths for the worker's metrics. */
export const queueDepths = Effect.gen(function* () {
  const settings = yield* RedisSettings
  const connection = yield* connect(settings, "producer")
  const queues = yield* Effect.acquireRelease(
    Effect.sync(() =>
      [USAGE, EXPIRY_SCAN, DELIVERIES].map((name) => new Queue(name, { connection, prefix: settings.prefix }))
    ),
    (queues) => Effect.promise(() => Promise.all(queues.map((queue) => queue.close().catch(() => undefined))))
  )
  for (const queue of queues) queue.on("error", () => undefined)
  return Effect.promise(async () => {
    const counts = await Promise.all(
      queues.map((queue) =>
        queue
          .getJobCounts("waiting", "active", "delayed", "failed")
          .catch(() => ({}) as Record<string, number>)
      )
    )
    return queues.map((queue, index) => ({ queue: queue.name, counts: counts[index]! }))
  })
})
