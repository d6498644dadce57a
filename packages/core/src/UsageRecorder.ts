/**
 * Aggregates usage in memory so a verification never waits on a write: `record` is one map update;
 * a background fiber hands the aggregate to the `UsageSink` every flush interval and once more on
 * shutdown. If the sink fails, that batch is retried unchanged (same id) on the next tick while new
 * usage keeps aggregating, so no last-use time is lost while the bound (`usageMaxPendingKeys`
 * distinct keys) holds; past it, new keys are dropped and counted.
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { KeysConfig } from "./KeysConfig.js"
import { SecureRandom } from "./SecureRandom.js"
import { randomBase62 } from "./internal/base62.js"
import { MAX_ENTRIES_PER_BATCH, type UsageBatch, type UsageEntry } from "./Usage.js"
import { UsageSink } from "./UsageSink.js"

export interface UsageStats {
  /** Distinct keys waiting for the next flush. */
  readonly pendingKeys: number
  /** Verifications not recorded because the bound was reached. */
  readonly dropped: number
  readonly flushes: number
  readonly failedFlushes: number
  readonly lastFlushSize: number
}

export class UsageRecorder extends Context.Tag("@keys/core/UsageRecorder")<
  UsageRecorder,
  {
    /** O(1); never blocks, never fails. */
    readonly record: (keyId: string, atMillis: number) => void
    /** Hands everything pending to the sink now. */
    readonly flush: Effect.Effect<void>
    readonly stats: () => UsageStats
  }
>() {}

interface Pending {
  lastUsedAtMillis: number
  count: number
}

export const make = Effect.gen(function* () {
  const sink = yield* UsageSink
  const random = yield* SecureRandom
  const { usageMaxPendingKeys } = yield* KeysConfig
  let pending = new Map<string, Pending>()
  let dropped = 0
  let flushes = 0
  let failedFlushes = 0
  let lastFlushSize = 0

  const newBatchId = () => `ub_${randomBase62(16, random.nextBytes)}`

  const add = (keyId: string, atMillis: number, count: number): void => {
    const entry = pending.get(keyId)
    if (entry !== undefined) {
      if (atMillis > entry.lastUsedAtMillis) entry.lastUsedAtMillis = atMillis
      entry.count += count
    } else if (pending.size < usageMaxPendingKeys) {
      pending.set(keyId, { lastUsedAtMillis: atMillis, count })
    } else {
      dropped += count
    }
  }

  // Batches taken from `pending` and not yet handed over, oldest first. One the sink refused is
  // retried as it is, under its own id: a sink that timed out may still apply it later, and the
  // store applies one batch id's counts once.
  let queued: Array<UsageBatch> = []

  const send = (batch: UsageBatch) =>
    sink.send(batch).pipe(
      Effect.as(true),
      Effect.catchAll((error) =>
        Effect.gen(function* () {
          failedFlushes++
          yield* Effect.logWarning("usage flush failed; will retry").pipe(
            Effect.annotateLogs({ keys: batch.entries.length, error: error.message })
          )
          return false
        })
      )
    )

  /** Hands `queued` over in order; false when the sink refused one (it and the rest stay queued). */
  const sendQueued = Effect.gen(function* () {
    while (queued.length > 0) {
      const batch = queued[0]!
      if (!(yield* send(batch))) return false
      queued.shift()
      flushes++
      lastFlushSize = batch.entries.length
    }
    return true
  })

  /** What `pending` holds, as batches of at most MAX_ENTRIES_PER_BATCH entries; empties it. */
  const takePending = (): Array<UsageBatch> => {
    const taken = pending
    pending = new Map()
    const batches: Array<UsageBatch> = []
    let entries: Array<UsageEntry> = []
    for (const [keyId, entry] of taken) {
      entries.push({ keyId, lastUsedAt: new Date(entry.lastUsedAtMillis), count: entry.count })
      if (entries.length === MAX_ENTRIES_PER_BATCH) {
        batches.push({ id: newBatchId(), entries })
        entries = []
      }
    }
    if (entries.length > 0) batches.push({ id: newBatchId(), entries })
    return batches
  }

  const flush = Effect.gen(function* () {
    if (!(yield* sendQueued) || pending.size === 0) return
    queued = takePending()
    yield* sendQueued
  })

  return UsageRecorder.of({
    record: (keyId, atMillis) => add(keyId, atMillis, 1),
    // Uninterruptible: a batch taken from the map is either handed over or merged back, never lost.
    flush: Effect.uninterruptible(flush),
    stats: () => ({
      pendingKeys: pending.size + queued.reduce((sum, batch) => sum + batch.entries.length, 0),
      dropped,
      flushes,
      failedFlushes,
      lastFlushSize
    })
  })
})

/** The recorder with its flush loop; the last flush runs when the layer's scope closes. */
export const layer: Layer.Layer<UsageRecorder, never, UsageSink | SecureRandom | KeysConfig> = Layer.scoped(
  UsageRecorder,
  Effect.gen(function* () {
    const recorder = yield* make
    const { usageFlushInterval } = yield* KeysConfig
    yield* Effect.addFinalizer(() => recorder.flush)
    yield* recorder.flush.pipe(
      Effect.repeat(Schedule.spaced(usageFlushInterval)),
      Effect.delay(usageFlushInterval),
      Effect.forkScoped
    )
    return recorder
  })
)
