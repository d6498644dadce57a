/**
 * The BullMQ adapters and consumers on the machine's Redis, over the core's in-memory store: usage
 * batches merged into one statement and retried on failure, a sink that fails fast without Redis,
 * deliveries deduplicated by id, retried and dead-lettered, one expiry-scan scheduler for any
 * number of workers, every key under the configured prefix.
 */
import {
  ApiKeys,
  Errors,
  Expiry,
  ExpiryNotifications,
  KeyRepository,
  KeysConfig,
  Notifier,
  SecureRandom,
  Usage,
  UsageSink
} from "@keys/core"
import { InMemoryKeyRepository, TestKeys } from "@keys/core/testing"
import { Queue } from "bullmq"
import { Duration, Effect, Either, Layer, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { BullMqDeliveryQueue, BullMqUsageSink, Queues, Redis, Workers } from "../src/index.js"
import {
  client,
  deleteKeys,
  freePort,
  onCleanup,
  REDIS_URL,
  runCleanups,
  start,
  uniquePrefix,
  waitFor
} from "./helpers.js"

afterEach(runCleanups)

const HOUR = 3_600_000
const NOON = Date.UTC(2030, 0, 1, 12)
const DAY = "2030-01-01"

/** A fresh prefix on the shared Redis (cleaned up after the test) and the settings for it. */
const redisFor = () => {
  const prefix = uniquePrefix()
  onCleanup(() => deleteKeys(prefix))
  return { prefix, redis: Redis.layer({ url: Redacted.make(REDIS_URL), prefix }) }
}

/** An in-memory store with ApiKeys on it. */
const storeWithKeys = async () => {
  const repository = InMemoryKeyRepository.make()
  const keys = await start(TestKeys.layer({ repository }))
  onCleanup(keys.close)
  return { repository, keys }
}

/** A queue handle for the test's own look at jobs. */
const queueFor = (name: string, prefix: string) => {
  const connection = client()
  const queue = new Queue(name, { connection, prefix })
  onCleanup(async () => {
    await queue.close()
    connection.disconnect()
  })
  return queue
}

const usageConsumer = async (
  stats: Workers.WorkerStats,
  redis: Layer.Layer<Redis.RedisSettings>,
  repository: KeyRepository.KeyRepository["Type"]
) => {
  const consumer = await start(
    Layer.scopedDiscard(Effect.forkScoped(Workers.runUsage(stats))).pipe(
      Layer.provide(Layer.merge(redis, Layer.succeed(KeyRepository.KeyRepository, repository)))
    )
  )
  onCleanup(consumer.close)
  return consumer
}

describe("usage batches", () => {
  it("batches waiting are applied in one statement; a replayed batch id is one job; last use never moves back", {
    timeout: 60_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const { repository, keys } = await storeWithKeys()
    const [k1, k2, k3] = await keys.run(
      Effect.flatMap(ApiKeys.ApiKeys, (service) =>
        Effect.forEach([1, 2, 3], (i) => service.create({ teamId: "usage", name: `k${i}` }))
      )
    )
    const sink = await start(BullMqUsageSink.layer.pipe(Layer.provide(redis)))
    onCleanup(sink.close)
    const at = (millis: number) => new Date(NOON + millis)
    const batches = [
      {
        id: "ub_one",
        entries: [
          { keyId: k1!.key.id, lastUsedAt: at(1_000), count: 2 },
          { keyId: k2!.key.id, lastUsedAt: at(500), count: 1 }
        ]
      },
      { id: "ub_two", entries: [{ keyId: k1!.key.id, lastUsedAt: at(300), count: 5 }] },
      {
        id: "ub_three",
        entries: [
          { keyId: k3!.key.id, lastUsedAt: at(2_000), count: 1 },
          { keyId: k2!.key.id, lastUsedAt: at(700), count: 4 }
        ]
      }
    ]
    await sink.run(
      Effect.flatMap(UsageSink.UsageSink, (usage) =>
        // The first batch twice: a flush retried after a lost acknowledgement.
        Effect.forEach([...batches, batches[0]!], (batch) => usage.send(batch), { discard: true })
      )
    )
    const queue = queueFor(Queues.USAGE, prefix)
    expect(await queue.getWaitingCount()).toBe(3)
    // Every BullMQ key of the queue lives under the prefix.
    const redisKeys = await client().keys(`${prefix}:${Queues.USAGE}:*`)
    expect(redisKeys.length).toBeGreaterThan(0)

    const stats = Workers.makeStats()
    await usageConsumer(stats, redis, repository)
    await waitFor(() => stats.usageJobs >= 3, { timeout: 15_000, message: "three batches applied" })
    expect(stats.usageStatements).toBe(1)
    expect(repository.inspect.usageStatements()).toBe(1)
    const byId = new Map(repository.inspect.records().map((record) => [record.id, record]))
    expect(byId.get(k1!.key.id)!.lastUsedAt).toEqual(at(1_000))
    expect(byId.get(k2!.key.id)!.lastUsedAt).toEqual(at(700))
    expect(byId.get(k3!.key.id)!.lastUsedAt).toEqual(at(2_000))
    expect(repository.inspect.dailyCount(k1!.key.id, DAY)).toBe(7)
    expect(repository.inspect.dailyCount(k2!.key.id, DAY)).toBe(5)
    expect(repository.inspect.dailyCount(k3!.key.id, DAY)).toBe(1)
    await waitFor(async () => (await queue.getCompletedCount()) === 3, {
      timeout: 5_000,
      message: "three completed jobs"
    })
  })

  it("big batches waiting are merged only up to the statement's entry bound", {
    timeout: 60_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const { repository, keys } = await storeWithKeys()
    const [key] = await keys.run(
      Effect.flatMap(ApiKeys.ApiKeys, (service) =>
        Effect.forEach([1], (i) => service.create({ teamId: "usage", name: `k${i}` }))
      )
    )
    const sink = await start(BullMqUsageSink.layer.pipe(Layer.provide(redis)))
    onCleanup(sink.close)
    // Three full batches (entries for unknown keys are skipped by the store, but still counted
    // towards the bound): the first two fill one statement, the third takes another.
    const full = (id: string) => ({
      id,
      entries: Array.from({ length: Usage.MAX_ENTRIES_PER_BATCH }, (_, i) => ({
        keyId: i === 0 ? key!.key.id : `key_absent${i}`,
        lastUsedAt: new Date(NOON),
        count: 1
      }))
    })
    await sink.run(
      Effect.flatMap(UsageSink.UsageSink, (usage) =>
        Effect.forEach([full("ub_big1"), full("ub_big2"), full("ub_big3")], (batch) => usage.send(batch), {
          discard: true
        })
      )
    )
    expect(await queueFor(Queues.USAGE, prefix).getWaitingCount()).toBe(3)
    const stats = Workers.makeStats()
    await usageConsumer(stats, redis, repository)
    await waitFor(() => stats.usageJobs >= 3, { timeout: 15_000, message: "three batches applied" })
    expect(stats.usageStatements).toBe(2)
    expect(repository.inspect.dailyCount(key!.key.id, DAY)).toBe(3)
  })

  it("a batch the store refuses is failed back, retried with backoff and applied once", {
    timeout: 60_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const { repository, keys } = await storeWithKeys()
    const created = await keys.run(
      Effect.flatMap(ApiKeys.ApiKeys, (service) => service.create({ teamId: "usage", name: "flaky" }))
    )
    let refusals = 1
    const flaky: KeyRepository.KeyRepository["Type"] = {
      ...repository,
      applyUsageBatches: (batches) =>
        refusals-- > 0
          ? Effect.fail(new Errors.StoreUnavailable({ message: "The key store is unavailable." }))
          : repository.applyUsageBatches(batches)
    }
    const sink = await start(BullMqUsageSink.layer.pipe(Layer.provide(redis)))
    onCleanup(sink.close)
    await sink.run(
      Effect.flatMap(UsageSink.UsageSink, (usage) =>
        usage.send({
          id: "ub_flaky",
          entries: [{ keyId: created.key.id, lastUsedAt: new Date(NOON), count: 9 }]
        })
      )
    )
    const stats = Workers.makeStats()
    await usageConsumer(stats, redis, flaky)
    await waitFor(() => stats.usageJobs >= 1, { timeout: 20_000, message: "the retried batch applied" })
    expect(stats.usageFailures).toBe(1)
    expect(stats.usageStatements).toBe(1)
    expect(repository.inspect.dailyCount(created.key.id, DAY)).toBe(9)
    const job = await queueFor(Queues.USAGE, prefix).getJob("ub_flaky")
    expect(await job!.getState()).toBe("completed")
    expect(job!.attemptsMade).toBeGreaterThanOrEqual(1)
  })

  it("without Redis the sink fails fast with UsageSinkUnavailable (the recorder merges and retries)", {
    timeout: 30_000
  }, async () => {
    const nowhere = Redis.layer({
      url: Redacted.make(`redis://127.0.0.1:${await freePort()}`),
      prefix: uniquePrefix()
    })
    const sink = await start(BullMqUsageSink.layer.pipe(Layer.provide(nowhere)))
    onCleanup(sink.close)
    const result = await sink.run(
      Effect.either(
        Effect.flatMap(UsageSink.UsageSink, (usage) =>
          usage.send({ id: "ub_nowhere", entries: [{ keyId: "key_x", lastUsedAt: new Date(), count: 1 }] })
        )
      )
    )
    expect(Either.isLeft(result)).toBe(true)
    expect(Either.isLeft(result) && result.left._tag).toBe("UsageSinkUnavailable")
  })
})

describe("deliveries", () => {
  it("the same delivery enqueued twice is one job, with at least 5 tries over at least 10 minutes", {
    timeout: 30_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const deliveryQueue = await start(BullMqDeliveryQueue.layer.pipe(Layer.provide(redis)))
    onCleanup(deliveryQueue.close)
    const delivery = { id: "dlv_twice_0", teamId: "team_a", threshold: "1d" }
    await deliveryQueue.run(
      Effect.flatMap(ExpiryNotifications.DeliveryQueue, (queue) =>
        Effect.zipRight(queue.enqueue(delivery), queue.enqueue(delivery))
      )
    )
    const queue = queueFor(Queues.DELIVERIES, prefix)
    expect(await queue.getWaitingCount()).toBe(1)
    const job = await queue.getJob(delivery.id)
    expect(job!.data).toEqual({ deliveryId: delivery.id })
    const attempts = job!.opts.attempts ?? 1
    expect(attempts).toBeGreaterThanOrEqual(5)
    const backoff = job!.opts.backoff
    expect(backoff).toMatchObject({ type: "exponential" })
    const delay = typeof backoff === "object" ? (backoff.delay ?? 0) : (backoff ?? 0)
    let waited = 0
    for (let retry = 1; retry < attempts; retry++) waited += delay * 2 ** (retry - 1)
    expect(waited).toBeGreaterThanOrEqual(Duration.toMillis(Duration.minutes(10)))
  })

  it("a failed try is retried and delivered once; one that always fails is recorded dead", {
    timeout: 60_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const { repository, keys } = await storeWithKeys()
    await keys.run(
      Effect.flatMap(ApiKeys.ApiKeys, (service) =>
        Effect.forEach(["flaky", "broken"], (teamId) =>
          service.create({ teamId, name: teamId, expiresAt: new Date(Date.now() + 12 * HOUR) })
        )
      )
    )
    const claims = await Effect.runPromise(
      repository.claimExpiryNotifications(Expiry.windows(new Date(), KeysConfig.defaults.expiryThresholds), {
        scanId: "retries",
        limit: 10
      })
    )
    const idOf = (teamId: string) => claims.find((claim) => claim.key.teamId === teamId)!.deliveryId
    const flakyId = idOf("flaky")
    const brokenId = idOf("broken")

    const calls = new Map<string, number>()
    const notifier = Layer.succeed(Notifier.Notifier, {
      deliver: (notification) =>
        Effect.suspend(() => {
          const n = (calls.get(notification.id) ?? 0) + 1
          calls.set(notification.id, n)
          return notification.id === brokenId || n === 1
            ? Effect.fail(new Errors.NotificationFailed({ message: "webhook answered 500" }))
            : Effect.void
        })
    })
    // Short retry policies instead of the production one (minutes of backoff).
    const queue = queueFor(Queues.DELIVERIES, prefix)
    await queue.add("deliver", { deliveryId: flakyId }, { jobId: flakyId, attempts: 3, backoff: 100 })
    await queue.add(
      "deliver",
      { deliveryId: brokenId },
      { jobId: brokenId, attempts: 2, backoff: { type: "fixed", delay: 100 } }
    )

    const stats = Workers.makeStats()
    const consumer = await start(
      Layer.scopedDiscard(Workers.runDeliveries(stats)).pipe(
        Layer.provide(ExpiryNotifications.layer),
        Layer.provide(BullMqDeliveryQueue.layer),
        Layer.provide(
          Layer.mergeAll(
            InMemoryKeyRepository.layerWithOutbox(repository),
            redis,
            notifier,
            SecureRandom.layer,
            KeysConfig.layer()
          )
        )
      )
    )
    onCleanup(consumer.close)

    await waitFor(() => repository.inspect.deadLetters().length === 1 && stats.delivered === 1, {
      timeout: 20_000,
      message: "one delivered, one dead"
    })
    expect(calls.get(flakyId)).toBe(2)
    expect(calls.get(brokenId)).toBe(2)
    expect(repository.inspect.deadLetters()).toEqual([
      { id: brokenId, reason: expect.stringContaining("500") }
    ])
    expect(stats.dead).toBe(1)
    expect(stats.deliveryFailures).toBe(3)
    const flaky = await Effect.runPromise(repository.outbox.load(flakyId))
    expect(flaky._tag === "Some" && flaky.value.deliveredAt).toBeInstanceOf(Date)
    expect(await (await queue.getJob(flakyId))!.getState()).toBe("completed")
    expect(await (await queue.getJob(brokenId))!.getState()).toBe("failed")
  })
})

describe("expiry scan", () => {
  it("two workers share one job scheduler; the scans claim and enqueue one job per delivery", {
    timeout: 60_000
  }, async () => {
    const { prefix, redis } = redisFor()
    const { repository, keys } = await storeWithKeys()
    await keys.run(
      Effect.flatMap(ApiKeys.ApiKeys, (service) =>
        Effect.forEach([0, 1, 2, 3, 4, 5], (i) =>
          service.create({
            teamId: `scan_${i % 3}`,
            name: `k${i}`,
            expiresAt: new Date(Date.now() + 12 * HOUR)
          })
        )
      )
    )
    const environment = ExpiryNotifications.layer.pipe(
      Layer.provideMerge(BullMqDeliveryQueue.layer),
      Layer.provideMerge(
        Layer.mergeAll(
          InMemoryKeyRepository.layerWithOutbox(repository),
          redis,
          Notifier.layerLog,
          SecureRandom.layer,
          KeysConfig.layer({ expiryScanEvery: Duration.millis(200) })
        )
      )
    )
    const statsA = Workers.makeStats()
    const statsB = Workers.makeStats()
    const scanners = await Promise.all(
      [statsA, statsB].map((stats) =>
        start(Layer.scopedDiscard(Workers.runExpiryScan(stats)).pipe(Layer.provide(environment)))
      )
    )
    for (const scanner of scanners) onCleanup(scanner.close)

    await waitFor(() => statsA.scans + statsB.scans >= 4, { timeout: 20_000, message: "four scans" })
    const scanQueue = queueFor(Queues.EXPIRY_SCAN, prefix)
    const schedulers = await scanQueue.getJobSchedulers()
    expect(schedulers).toHaveLength(1)
    expect(schedulers[0]).toMatchObject({ key: "expiry-scan", every: 200 })
    expect(statsA.claimed + statsB.claimed).toBe(6)
    expect(statsA.scanFailures + statsB.scanFailures).toBe(0)

    // One job per (team, threshold), its id the delivery id; nothing consumes them here.
    const deliveries = queueFor(Queues.DELIVERIES, prefix)
    const jobs = await deliveries.getJobs(["waiting", "delayed", "active"])
    expect(jobs).toHaveLength(3)
    for (const job of jobs) expect(job.id).toBe((job.data as { deliveryId: string }).deliveryId)
    expect(await Effect.runPromise(repository.outbox.pending(10))).toEqual([])
  })
})
