import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Scope, TestClock } from "effect"
import { KeysConfig, SecureRandom, Usage, UsageRecorder, UsageSink } from "../src/index.js"
import { UsageSinkUnavailable } from "../src/Errors.js"

const recorderWith = (
  send: UsageSink.UsageSink["Type"]["send"],
  settings: Partial<KeysConfig.Settings> = {}
) =>
  UsageRecorder.layer.pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(UsageSink.UsageSink, { send }),
        SecureRandom.layer,
        KeysConfig.layer(settings)
      )
    )
  )

describe("UsageRecorder", () => {
  it.effect("aggregates to one entry per key per flush, keeping the latest time", () => {
    const batches: Array<Usage.UsageBatch> = []
    return Effect.gen(function* () {
      const recorder = yield* UsageRecorder.UsageRecorder
      for (let i = 0; i < 10_000; i++) recorder.record(`key_${i % 100}`, 1000 + i)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(batches).toHaveLength(1)
      expect(batches[0]!.entries).toHaveLength(100)
      const first = batches[0]!.entries.find((entry) => entry.keyId === "key_0")!
      expect(first).toEqual({ keyId: "key_0", lastUsedAt: new Date(1000 + 9900), count: 100 })
      yield* TestClock.adjust(Duration.seconds(5))
      expect(batches).toHaveLength(1) // nothing new, nothing sent
    }).pipe(
      Effect.provide(recorderWith((batch) => Effect.sync(() => void batches.push(batch)))),
      Effect.scoped
    )
  })

  it.effect("retries a failed batch under its own id, and delivers later usage after it", () => {
    const batches: Array<Usage.UsageBatch> = []
    let failures = 2
    const attemptedIds: Array<string> = []
    return Effect.gen(function* () {
      const recorder = yield* UsageRecorder.UsageRecorder
      recorder.record("key_a", 5)
      yield* TestClock.adjust(Duration.seconds(1))
      recorder.record("key_a", 9)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(batches).toHaveLength(0)
      expect(recorder.stats().failedFlushes).toBe(2)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(batches.map((batch) => batch.entries)).toEqual([
        [{ keyId: "key_a", lastUsedAt: new Date(5), count: 1 }],
        [{ keyId: "key_a", lastUsedAt: new Date(9), count: 1 }]
      ])
      // Both failed tries and the success of the first batch carry one id.
      expect(attemptedIds.slice(0, 3).every((id) => id === attemptedIds[0])).toBe(true)
    }).pipe(
      Effect.provide(
        recorderWith((batch) =>
          Effect.suspend(() => {
            attemptedIds.push(batch.id)
            if (failures-- > 0) return Effect.fail(new UsageSinkUnavailable({ message: "redis down" }))
            batches.push(batch)
            return Effect.void
          })
        )
      ),
      Effect.scoped
    )
  })

  it.effect("splits a flush over many keys into bounded batches, retrying from the first refused", () => {
    const delivered: Array<Usage.UsageBatch> = []
    const attempts: Array<string> = []
    let refuseSecond = true
    return Effect.gen(function* () {
      const recorder = yield* UsageRecorder.UsageRecorder
      const keys = 2 * Usage.MAX_ENTRIES_PER_BATCH + 7
      for (let i = 0; i < keys; i++) recorder.record(`key_${i}`, 1_000 + i)
      yield* TestClock.adjust(Duration.seconds(1))
      // The first batch went out; the second was refused, so it and the third wait.
      expect(delivered.map((batch) => batch.entries.length)).toEqual([Usage.MAX_ENTRIES_PER_BATCH])
      expect(recorder.stats().pendingKeys).toBe(Usage.MAX_ENTRIES_PER_BATCH + 7)
      refuseSecond = false
      yield* TestClock.adjust(Duration.seconds(1))
      expect(delivered.map((batch) => batch.entries.length)).toEqual([
        Usage.MAX_ENTRIES_PER_BATCH,
        Usage.MAX_ENTRIES_PER_BATCH,
        7
      ])
      // Each batch has an id of its own; the refused one was retried under its id.
      expect(new Set(delivered.map((batch) => batch.id)).size).toBe(3)
      expect(attempts.filter((id) => id === delivered[1]!.id)).toHaveLength(2)
      const keyIds = delivered.flatMap((batch) => batch.entries.map((entry) => entry.keyId))
      expect(new Set(keyIds).size).toBe(keys)
      expect(recorder.stats().pendingKeys).toBe(0)
    }).pipe(
      Effect.provide(
        recorderWith((batch) =>
          Effect.suspend(() => {
            attempts.push(batch.id)
            if (refuseSecond && attempts.length === 2) {
              return Effect.fail(new UsageSinkUnavailable({ message: "queue down" }))
            }
            delivered.push(batch)
            return Effect.void
          })
        )
      ),
      Effect.scoped
    )
  })

  it.effect("bounds memory: past the bound, new keys are dropped and counted, known keys still merge", () =>
    Effect.gen(function* () {
      const recorder = yield* UsageRecorder.UsageRecorder
      recorder.record("key_a", 1)
      recorder.record("key_b", 1)
      recorder.record("key_c", 1)
      recorder.record("key_a", 2)
      expect(recorder.stats()).toMatchObject({ pendingKeys: 2, dropped: 1 })
    }).pipe(Effect.provide(recorderWith(() => Effect.void, { usageMaxPendingKeys: 2 })), Effect.scoped)
  )

  it.effect("flushes what is pending when it shuts down", () => {
    const batches: Array<Usage.UsageBatch> = []
    return Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        recorderWith((batch) => Effect.sync(() => void batches.push(batch))),
        scope
      )
      const recorder = context.unsafeMap.get(
        UsageRecorder.UsageRecorder.key
      ) as UsageRecorder.UsageRecorder["Type"]
      recorder.record("key_z", 42)
      yield* Scope.close(scope, Exit.void)
      expect(batches.flatMap((batch) => batch.entries)).toEqual([
        { keyId: "key_z", lastUsedAt: new Date(42), count: 1 }
      ])
    })
  })
})
