/**
 * Usage, end to end on real PostgreSQL and Redis: the API's aggregator sends one BullMQ job per
 * flush, the worker applies waiting batches in single statements, and a worker closed while a batch
 * is in hand finishes it (counted once, never lost).
 */
import { Queues, type Redis } from "@keys/bullmq"
import { ApiKeys, KeysConfig, Notifier, UsageRecorder } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { Duration, Effect, Layer, type Redacted } from "effect"
import { Queue } from "bullmq"
import { Redis as IORedis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import * as App from "../../api/src/App.js"
import * as WorkerApp from "../src/WorkerApp.js"
import {
  listen,
  onCleanup,
  quiet,
  runCleanups,
  SHARED_REDIS_URL,
  setup,
  start,
  startWorker as startWorkerWith,
  waitFor
} from "./helpers.js"

afterEach(runCleanups)

const settings = KeysConfig.layer({ usageFlushInterval: Duration.millis(200) })

const startApi = async (url: Redacted.Redacted<string>, redis: Layer.Layer<Redis.RedisSettings>) => {
  const api = await start(
    App.make(PgStore.layer({ url }), settings, listen, { _tag: "Queues", redis }).pipe(Layer.provide(quiet()))
  )
  onCleanup(api.close)
  return api
}

const startWorker = async (url: Redacted.Redacted<string>, redis: Layer.Layer<Redis.RedisSettings>) => {
  const worker = await startWorkerWith(url, redis, settings, Notifier.layerLog)
  onCleanup(worker.close)
  return worker
}

const createKeys = (count: number, team: string) =>
  Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) => keys.create({ teamId: `${team}_${i % 5}`, name: `usage ${i}` }),
      { concurrency: 8 }
    )
  )

describe("usage batches through BullMQ", () => {
  it("10 000 verifications over 50 keys: lastUsedAt on all 50 within 5 s, one statement per batch", {
    timeout: 90_000
  }, async () => {
    const { database, redis, seed } = await setup()
    const created = await seed.run(createKeys(50, "usage"))
    const api = await startApi(database.url, redis)
    const worker = await startWorker(database.url, redis)
    const { stats } = await worker.run(WorkerApp.WorkerServer)

    const TOTAL = 10_000
    const lastStart = new Map<string, number>()
    const invalid = await api.run(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        let invalid = 0
        for (let i = 0; i < TOTAL; i++) {
          const created1 = created[i % created.length]!
          lastStart.set(created1.key.id, Date.now())
          const result = yield* keys.verify(created1.secret)
          if (!result.valid) invalid++
          // Spread the load over several flushes, as real traffic would be.
          if (i % 500 === 499) yield* Effect.sleep("20 millis")
        }
        return invalid
      })
    )
    const lastVerification = Date.now()
    expect(invalid).toBe(0)

    const ids = created.map((c) => c.key.id)
    const lastUsed = async () =>
      (
        await database.pool.query<{ id: string; last_used_at: Date | null }>(
          "select id, last_used_at from keys where id = any($1)",
          [ids]
        )
      ).rows
    // The contract: lastUsedAt reflects a verification within 5 seconds.
    await waitFor(
      async () =>
        (await lastUsed()).every(
          (row) => row.last_used_at !== null && row.last_used_at.getTime() >= lastStart.get(row.id)!
        ),
      { timeout: 5_000, message: "lastUsedAt on all 50 keys" }
    )
    const rows = await lastUsed()
    expect(rows).toHaveLength(50)
    for (const row of rows) {
      // Set to the last verification's time: not before it started, not after the run ended.
      expect(row.last_used_at!.getTime()).toBeGreaterThanOrEqual(lastStart.get(row.id)!)
      expect(row.last_used_at!.getTime()).toBeLessThanOrEqual(lastVerification)
    }

    // Every verification counted exactly once.
    const counted = await database.pool.query<{ total: string }>(
      "select coalesce(sum(count), 0)::text as total from key_usage_daily where key_id = any($1)",
      [ids]
    )
    expect(Number(counted.rows[0]!.total)).toBe(TOTAL)

    // SQL writes follow batches, not verifications: one job per flush, at most one statement each.
    const recorder = await api.run(UsageRecorder.UsageRecorder)
    const flushes = recorder.stats().flushes
    const batches = await database.pool.query<{ n: number }>("select count(*)::int as n from usage_batches")
    expect(stats.usageJobs).toBe(batches.rows[0]!.n)
    expect(stats.usageJobs).toBeLessThanOrEqual(flushes)
    expect(stats.usageStatements).toBeGreaterThan(0)
    expect(stats.usageStatements).toBeLessThanOrEqual(stats.usageJobs)
    expect(stats.usageStatements).toBeLessThan(100)
    expect(stats.usageFailures).toBe(0)
  })

  it("closing the worker while a batch is in hand finishes it: counted once, none lost", {
    timeout: 90_000
  }, async () => {
    const { database, redis, stats, ids, total } = await closeWithBatchInHand()
    expect(stats.usageStatements).toBe(1)
    expect(stats.usageFailures).toBe(0)
    // Everything waiting was in the one round the closing worker finished.
    expect(await total()).toBe(VERIFICATIONS)
    const applied = await database.pool.query<{ n: number }>("select count(*)::int as n from usage_batches")
    expect(applied.rows[0]!.n).toBe(stats.usageJobs)

    // A second worker starts; nothing is lost and nothing counted twice.
    await startWorker(database.url, redis)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await total()).toBe(VERIFICATIONS)
    const lastUsed = await database.pool.query<{ n: number }>(
      "select count(*)::int as n from keys where id = any($1) and last_used_at is not null",
      [ids]
    )
    expect(lastUsed.rows[0]!.n).toBe(ids.length)
  })

  // BUG (packages/bullmq/src/Workers.ts:108-111 and :127-133, runUsage; same root cause as the skipped SIGTERM test in
  // health.integration.test.ts): the BullMQ worker and its connection are closed by finalizers that
  // run BEFORE the consumer fiber is interrupted, so the uninterruptible round in hand finishes its
  // SQL but `job.moveToCompleted(...)` then rejects with "Connection is closed."; the defect is
  // swallowed (the fiber is being interrupted, so `catchAllDefect` never logs it). The batch is
  // applied yet its job stays `active` in Redis, to be redone after the stalled-job check (the
  // idempotent batch id keeps counts right, but it is not the graceful "finish the current job"
  // the issue asks for). Expected: the job is `completed` when the close returns, nothing active.
  it("closing the worker while a batch is in hand acknowledges the job before closing connections", {
    timeout: 90_000
  }, async () => {
    const { database, prefix, stats } = await closeWithBatchInHand()
    const applied = await database.pool.query<{ id: string }>("select id from usage_batches")
    expect(applied.rows.length).toBe(stats.usageJobs)
    const connection = new IORedis(SHARED_REDIS_URL, { maxRetriesPerRequest: 1 })
    const queue = new Queue(Queues.USAGE, { connection, prefix })
    onCleanup(async () => {
      await queue.close()
      connection.disconnect()
    })
    for (const { id } of applied.rows) expect(await (await queue.getJob(id))?.getState()).toBe("completed")
    expect(await queue.getJobCounts("active", "waiting", "delayed", "failed")).toEqual({
      active: 0,
      waiting: 0,
      delayed: 0,
      failed: 0
    })
  })
})

const VERIFICATIONS = 500

/**
 * Verifications through the API become waiting batches; the keys' rows are locked so the worker's
 * statement blocks with the batches in hand; the worker is closed then, and the rows released.
 */
const closeWithBatchInHand = async () => {
  const { database, prefix, redis, seed } = await setup()
  const created = await seed.run(createKeys(10, "shutdown"))
  const ids = created.map((c) => c.key.id)

  // The API's verifications become batches waiting in the queue (its last flush runs on close).
  const api = await startApi(database.url, redis)
  await api.run(
    Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
      Effect.forEach(
        Array.from({ length: VERIFICATIONS }, (_, i) => created[i % created.length]!),
        (c) => keys.verify(c.secret),
        { discard: true }
      )
    )
  )
  await api.close()

  // Hold the keys' rows so the worker's statement blocks with its batch in hand.
  const holder = await database.pool.connect()
  let released = false
  const release = async () => {
    if (released) return
    released = true
    await holder.query("commit").catch(() => undefined)
    holder.release()
  }
  onCleanup(release)
  await holder.query("begin")
  await holder.query("select id from keys where id = any($1) for update", [ids])

  const worker = await startWorker(database.url, redis)
  const { stats } = await worker.run(WorkerApp.WorkerServer)
  await waitFor(
    async () =>
      (
        await database.pool.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock' and query ilike '%usage_batches%'`
        )
      ).rows[0]!.n > 0,
    { timeout: 15_000, message: "the worker's usage statement waiting on the held rows" }
  )
  expect(stats.usageStatements).toBe(0)

  // Close the worker now: it must wait for the batch in hand, which completes once rows are free.
  let closed = false
  const closing = worker.close().then(() => {
    closed = true
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  expect(closed).toBe(false)
  await release()
  await closing

  const total = async () =>
    Number(
      (
        await database.pool.query<{ total: string }>(
          "select coalesce(sum(count), 0)::text as total from key_usage_daily where key_id = any($1)",
          [ids]
        )
      ).rows[0]!.total
    )
  return { database, prefix, redis, stats, ids, total }
}
