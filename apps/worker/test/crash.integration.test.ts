/**
 * A worker crash between claim and delivery loses nothing and doubles nothing: the outbox keeps the
 * claimed pair until it is delivered, the delivery id is the BullMQ job id, and receivers see one
 * acknowledged body per delivery id.
 */
import { Expiry, KeyRepository, KeysConfig } from "@keys/core"
import { Duration, Effect, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as WorkerApp from "../src/WorkerApp.js"
import {
  createExpiring,
  freePort,
  onCleanup,
  type Receiver,
  receiverFor,
  runCleanups,
  SECRET,
  SHARED_REDIS_URL,
  setup,
  spawnWorker,
  startWorker,
  waitFor,
  webhook
} from "./helpers.js"

afterEach(runCleanups)

const scanFast = KeysConfig.layer({ expiryScanEvery: Duration.millis(500) })

/** Acknowledged (2xx) bodies per delivery id. */
const acknowledgedPerId = (receiver: Receiver) => {
  const counts = new Map<string, number>()
  for (const entry of receiver.acknowledged()) counts.set(entry.json.id, (counts.get(entry.json.id) ?? 0) + 1)
  return counts
}

describe("exactly once across a worker crash", () => {
  it("SIGKILL while the webhook is in flight: delivered exactly once after a restart", {
    timeout: 200_000
  }, async () => {
    const { database, prefix, redis, seed } = await setup()
    const created = await seed.run(createExpiring(5, 1, "crash"))
    // The first request never gets an answer: the worker is killed while waiting for it.
    const receiver = await receiverFor(({ index }) => (index === 0 ? "stall" : 200))

    const worker = spawnWorker({
      DATABASE_URL: Redacted.value(database.url),
      REDIS_URL: SHARED_REDIS_URL,
      KEYS_REDIS_PREFIX: prefix,
      WORKER_PORT: String(await freePort()),
      KEYS_WEBHOOK_URL: receiver.url,
      KEYS_WEBHOOK_SECRET: SECRET,
      KEYS_EXPIRY_SCAN_EVERY: "1s"
    })
    onCleanup(worker.kill)
    await waitFor(() => receiver.received.length >= 1, {
      timeout: 45_000,
      message: () => `the first delivery attempt; worker output:\n${worker.output()}`
    })
    // Claimed and handed to the queue, not delivered: the crash lands in between.
    const before = await database.pool.query<{ id: string; enqueued: boolean; delivered: boolean }>(
      `select id, enqueued_at is not null as enqueued, delivered_at is not null as delivered
       from notification_deliveries`
    )
    expect(before.rows).toHaveLength(1)
    expect(before.rows[0]).toMatchObject({ enqueued: true, delivered: false })
    const deliveryId = before.rows[0]!.id
    expect(receiver.received[0]!.deliveryId).toBe(deliveryId)
    await worker.kill()
    expect(await worker.exited).toBe("SIGKILL")

    // A new worker: BullMQ's stalled-job check hands the delivery back once the dead worker's lock
    // (30 s) has expired and two checks (every 30 s) have seen the job: about 60 s, more under load.
    const restarted = await startWorker(database.url, redis, scanFast, webhook(receiver))
    onCleanup(restarted.close)
    await waitFor(() => receiver.acknowledged().length >= 1, {
      timeout: 150_000,
      interval: 250,
      message: "the delivery after the restart"
    })
    await waitFor(
      async () =>
        (
          await database.pool.query(
            "select 1 from notification_deliveries where id = $1 and delivered_at is not null",
            [deliveryId]
          )
        ).rowCount === 1,
      { timeout: 5_000, message: "the outbox marks it delivered" }
    )
    // More scans and stalled checks may run: nothing is delivered again.
    await new Promise((resolve) => setTimeout(resolve, 2_000))

    expect(receiver.received.every((entry) => entry.signatureValid)).toBe(true)
    expect(receiver.received.every((entry) => entry.json.id === deliveryId)).toBe(true)
    expect(acknowledgedPerId(receiver)).toEqual(new Map([[deliveryId, 1]]))
    const body = receiver.acknowledged()[0]!.json
    expect(body.keys.map((key) => key.id).sort()).toEqual(created.map((c) => c.key.id).sort())
    const outbox = await database.pool.query<{ total: number; delivered: number; dead: number }>(
      `select count(*)::int as total, count(delivered_at)::int as delivered, count(dead_at)::int as dead
       from notification_deliveries`
    )
    expect(outbox.rows[0]).toEqual({ total: 1, delivered: 1, dead: 0 })
    const { stats } = await restarted.run(WorkerApp.WorkerServer)
    expect(stats.claimed).toBe(0)
    expect(stats.delivered).toBe(1)
  })

  it("a crash right after the claim (nothing enqueued): restarted workers deliver it exactly once", {
    timeout: 60_000
  }, async () => {
    const { database, redis, seed } = await setup()
    const created = await seed.run(createExpiring(4, 2, "claimonly"))
    const receiver = await receiverFor()

    // The claiming transaction commits the pairs and their deliveries; the process "dies" before
    // handing anything to BullMQ.
    const claims = await seed.run(
      Effect.flatMap(KeyRepository.KeyRepository, (repository) =>
        repository.claimExpiryNotifications(
          Expiry.windows(new Date(), KeysConfig.defaults.expiryThresholds),
          {
            scanId: "crashed",
            limit: 100
          }
        )
      )
    )
    expect(claims).toHaveLength(4)
    const deliveryIds = [...new Set(claims.map((claim) => claim.deliveryId))].sort()
    expect(deliveryIds).toHaveLength(2)
    const pending = await database.pool.query(
      "select 1 from notification_deliveries where enqueued_at is null"
    )
    expect(pending.rowCount).toBe(2)

    // Two workers start at once; both relay what is pending.
    const workers = await Promise.all([
      startWorker(database.url, redis, scanFast, webhook(receiver)),
      startWorker(database.url, redis, scanFast, webhook(receiver))
    ])
    for (const worker of workers) onCleanup(worker.close)
    await waitFor(() => receiver.acknowledged().length >= 2, { timeout: 20_000, message: "both deliveries" })
    await new Promise((resolve) => setTimeout(resolve, 2_000))

    expect(receiver.received.every((entry) => entry.signatureValid)).toBe(true)
    expect(acknowledgedPerId(receiver)).toEqual(new Map(deliveryIds.map((id) => [id, 1])))
    expect(receiver.received).toHaveLength(2)
    expect(
      receiver
        .acknowledged()
        .flatMap((entry) => entry.json.keys.map((key) => key.id))
        .sort()
    ).toEqual(created.map((c) => c.key.id).sort())
    const outbox = await database.pool.query<{ enqueued: number; delivered: number }>(
      "select count(enqueued_at)::int as enqueued, count(delivered_at)::int as delivered from notification_deliveries"
    )
    expect(outbox.rows[0]).toEqual({ enqueued: 2, delivered: 2 })
  })
})
