/**
 * Expiry notifications on real PostgreSQL and Redis: workers racing the scan deliver each
 * (key, threshold) pair once with one signed webhook per team and threshold; a failing receiver is
 * retried with backoff; one that always fails ends in the dead-letter record.
 */
import { BullMqDeliveryQueue, Queues, Workers } from "@keys/bullmq"
import { Expiry, ExpiryNotifications, KeyRepository, KeysConfig, SecureRandom } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { Queue } from "bullmq"
import { Duration, Effect, Layer } from "effect"
import { Redis as IORedis } from "ioredis"
import { afterEach, describe, expect, it } from "vitest"
import * as WorkerApp from "../src/WorkerApp.js"
import {
  createExpiring,
  onCleanup,
  quiet,
  receiverFor,
  runCleanups,
  SHARED_REDIS_URL,
  setup,
  start,
  startWorker,
  waitFor,
  webhook
} from "./helpers.js"

afterEach(runCleanups)

const scanFast = KeysConfig.layer({ expiryScanEvery: Duration.millis(500) })

describe("expiry notifications through BullMQ", () => {
  it("two workers racing the scan over 1 000 keys in 20 teams: each key once, one webhook per team", {
    timeout: 120_000
  }, async () => {
    const { database, redis, seed } = await setup()
    const created = await seed.run(createExpiring(1_000, 20, "race"))
    const receiver = await receiverFor()

    const workers = await Promise.all([
      startWorker(database.url, redis, scanFast, webhook(receiver)),
      startWorker(database.url, redis, scanFast, webhook(receiver))
    ])
    for (const worker of workers) onCleanup(worker.close)
    // Besides the job scheduler's scans, both workers fire scans of their own at the same moment.
    const direct = await Promise.all(
      workers.flatMap((worker) =>
        Array.from({ length: 3 }, () =>
          worker.run(Effect.either(Effect.flatMap(ExpiryNotifications.ExpiryNotifications, (n) => n.scan)))
        )
      )
    )

    const deliveredKeys = () => receiver.acknowledged().flatMap((entry) => entry.json.keys)
    await waitFor(() => deliveredKeys().length >= 1_000, {
      timeout: 60_000,
      message: "all 1 000 keys delivered"
    })
    // Several more scans run (every 500 ms, on both workers): nothing more may arrive.
    const statsOf = await Promise.all(workers.map((worker) => worker.run(WorkerApp.WorkerServer)))
    const scansBefore = statsOf.reduce((sum, server) => sum + server.stats.scans, 0)
    await waitFor(() => statsOf.reduce((sum, server) => sum + server.stats.scans, 0) >= scansBefore + 3, {
      timeout: 15_000,
      message: "three more scans"
    })

    expect(receiver.received.every((entry) => entry.signatureValid)).toBe(true)
    expect(receiver.received.every((entry) => entry.status === 200)).toBe(true)
    // Every key exactly once across all bodies.
    const ids = deliveredKeys().map((key) => key.id)
    expect(ids).toHaveLength(1_000)
    expect(new Set(ids)).toEqual(new Set(created.map((c) => c.key.id)))
    // One webhook per (team, threshold): 20 calls for 1d, each with that team's 50 keys.
    expect(receiver.received).toHaveLength(20)
    const groups = new Map<string, number>()
    for (const entry of receiver.received) {
      const group = `${entry.json.teamId}/${entry.json.threshold}`
      groups.set(group, (groups.get(group) ?? 0) + 1)
      expect(entry.json.type).toBe("keys.expiring")
      expect(entry.json.threshold).toBe("1d")
      expect(entry.deliveryId).toBe(entry.json.id)
      expect(entry.json.keys).toHaveLength(50)
      expect(entry.json.keys.every((key) => key.teamId === entry.json.teamId)).toBe(true)
    }
    expect(groups.size).toBe(20)
    expect([...groups.values()].every((n) => n === 1)).toBe(true)

    const claimedDirectly = direct.reduce(
      (sum, scan) => sum + (scan._tag === "Right" ? scan.right.claimed : 0),
      0
    )
    const claimedScheduled = statsOf.reduce((sum, server) => sum + server.stats.claimed, 0)
    expect(claimedDirectly + claimedScheduled).toBe(1_000)
    expect(statsOf.reduce((sum, server) => sum + server.stats.delivered, 0)).toBe(20)

    const outbox = await database.pool.query<{ total: number; delivered: number; dead: number }>(
      `select count(*)::int as total, count(delivered_at)::int as delivered, count(dead_at)::int as dead
       from notification_deliveries`
    )
    expect(outbox.rows[0]).toEqual({ total: 20, delivered: 20, dead: 0 })
    const pairs = await database.pool.query<{ n: number }>(
      "select count(*)::int as n from key_notifications where threshold = '1d'"
    )
    expect(pairs.rows[0]!.n).toBe(1_000)
  })

  it("a receiver answering 500 then 200: retried with backoff, delivered once", {
    timeout: 60_000
  }, async () => {
    const { database, redis, seed } = await setup()
    const created = await seed.run(createExpiring(3, 1, "retry"))
    const seen = new Set<string>()
    const receiver = await receiverFor(({ deliveryId }) => {
      if (deliveryId !== undefined && !seen.has(deliveryId)) {
        seen.add(deliveryId)
        return 500
      }
      return 200
    })
    const worker = await startWorker(database.url, redis, scanFast, webhook(receiver))
    onCleanup(worker.close)
    const { stats } = await worker.run(WorkerApp.WorkerServer)

    // BullMQ's delivery backoff starts at 5 s: the retry lands after it.
    await waitFor(() => receiver.acknowledged().length >= 1, { timeout: 30_000, message: "the retry" })
    await waitFor(
      async () =>
        (await database.pool.query("select 1 from notification_deliveries where delivered_at is not null"))
          .rowCount === 1,
      { timeout: 5_000, message: "the outbox marks it delivered" }
    )
    await new Promise((resolve) => setTimeout(resolve, 1_500))

    expect(receiver.received.map((entry) => entry.status)).toEqual([500, 200])
    const [first, second] = receiver.received
    expect(first!.json.id).toBe(second!.json.id)
    expect(receiver.received.every((entry) => entry.signatureValid)).toBe(true)
    // The retry waited for the backoff (a lower bound set by the queue's policy, not a speed check).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(4_900)
    expect(second!.json.keys.map((key) => key.id).sort()).toEqual(created.map((c) => c.key.id).sort())
    expect(stats.deliveryFailures).toBe(1)
    expect(stats.delivered).toBe(1)
    expect(stats.dead).toBe(0)
    const outbox = await database.pool.query<{ delivered: number; dead: number }>(
      "select count(delivered_at)::int as delivered, count(dead_at)::int as dead from notification_deliveries"
    )
    expect(outbox.rows[0]).toEqual({ delivered: 1, dead: 0 })
  })

  it("a receiver that always fails: after the last try the delivery is recorded dead", {
    timeout: 60_000
  }, async () => {
    const { database, prefix, redis, seed } = await setup()
    await seed.run(createExpiring(2, 1, "dead"))
    const receiver = await receiverFor(() => 500)

    // Claim directly (the outbox records the delivery), then hand it to the deliveries queue with a
    // short retry policy instead of the production one (8 tries over ~10 minutes).
    const claims = await seed.run(
      Effect.flatMap(KeyRepository.KeyRepository, (repository) =>
        repository.claimExpiryNotifications(
          Expiry.windows(new Date(), KeysConfig.defaults.expiryThresholds),
          {
            scanId: "deadletter",
            limit: 100
          }
        )
      )
    )
    expect(claims).toHaveLength(2)
    const deliveryId = claims[0]!.deliveryId
    const connection = new IORedis(SHARED_REDIS_URL, { maxRetriesPerRequest: null })
    const queue = new Queue(Queues.DELIVERIES, { connection, prefix })
    onCleanup(async () => {
      await queue.close()
      await connection.quit()
    })
    await queue.add(
      "deliver",
      { deliveryId },
      { jobId: deliveryId, attempts: 2, backoff: { type: "fixed", delay: 100 } }
    )

    const stats = Workers.makeStats()
    const deliveries = await start(
      Layer.scopedDiscard(Workers.runDeliveries(stats)).pipe(
        Layer.provide(ExpiryNotifications.layer),
        Layer.provide(BullMqDeliveryQueue.layer),
        Layer.provide(
          Layer.mergeAll(
            PgStore.layer({ url: database.url, maxConnections: 2 }),
            redis,
            KeysConfig.layer(),
            webhook(receiver),
            SecureRandom.layer
          )
        ),
        Layer.provide(quiet())
      )
    )
    onCleanup(deliveries.close)

    const deadRow = async () =>
      (
        await database.pool.query<{
          dead_at: Date | null
          dead_reason: string | null
          delivered_at: Date | null
        }>("select dead_at, dead_reason, delivered_at from notification_deliveries where id = $1", [
          deliveryId
        ])
      ).rows[0]
    await waitFor(async () => (await deadRow())?.dead_at != null, {
      timeout: 20_000,
      message: "the dead-letter record"
    })
    const row = await deadRow()
    expect(row!.delivered_at).toBeNull()
    expect(row!.dead_reason).toContain("500")
    expect(receiver.received).toHaveLength(2)
    expect(receiver.received.every((entry) => entry.status === 500 && entry.signatureValid)).toBe(true)
    expect(stats.dead).toBe(1)
    expect(stats.delivered).toBe(0)
    expect(stats.deliveryFailures).toBe(2)
    const job = await queue.getJob(deliveryId)
    expect(await job?.getState()).toBe("failed")
  })
  it("the scan also forgets usage-batch ids applied more than 7 days ago, and keeps the rest", async () => {
    const { database, redis } = await setup()
    const receiver = await receiverFor()
    const worker = await startWorker(database.url, redis, scanFast, webhook(receiver))
    onCleanup(worker.close)
    await database.pool.query(
      "insert into usage_batches (id, applied_at) values ('ub_old', now() - interval '8 days'), ('ub_recent', now() - interval '6 days'), ('ub_new', now())"
    )
    // The job scheduler's own scans may get there first; after this one, the old id is gone.
    await worker.run(Effect.flatMap(ExpiryNotifications.ExpiryNotifications, (n) => n.scan))
    const { rows } = await database.pool.query<{ id: string }>("select id from usage_batches order by id")
    expect(rows.map((row) => row.id)).toEqual(["ub_new", "ub_recent"])
  })
})
