/**
 * Expiry notifications, end to end: a scan claims the (key, threshold) pairs newly due (each pair
 * exactly once, with its delivery recorded in the same transaction), a relay hands pending
 * deliveries to the `DeliveryQueue`, and `deliver` sends one notification per team and threshold.
 * The worker drives these from BullMQ; embedded mode drives them from Effect schedules.
 */
import { Context, Duration, Effect, Layer, Option, Queue, Schedule, Schema } from "effect"
import { toApiKey } from "./ApiKey.js"
import { DeliveryOutbox, type PendingDelivery } from "./DeliveryOutbox.js"
import type { NotificationFailed, StoreUnavailable } from "./Errors.js"
import * as Expiry from "./Expiry.js"
import { randomBase62 } from "./internal/base62.js"
import { KeyRepository } from "./KeyRepository.js"
import { KeysConfig } from "./KeysConfig.js"
import { Notifier } from "./Notifier.js"
import { SecureRandom } from "./SecureRandom.js"

export class QueueUnavailable extends Schema.TaggedError<QueueUnavailable>()("QueueUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Where pending deliveries go to be delivered with retries: BullMQ, or a queue in process. */
export class DeliveryQueue extends Context.Tag("@keys/core/DeliveryQueue")<
  DeliveryQueue,
  { readonly enqueue: (delivery: PendingDelivery) => Effect.Effect<void, QueueUnavailable> }
>() {}

export interface ScanResult {
  readonly claimed: number
  readonly enqueued: number
  /** Usage-batch ids forgotten by this scan's housekeeping. */
  readonly forgottenBatches: number
}

export type DeliveryOutcome = "delivered" | "already-delivered" | "dead" | "unknown"

export const SCAN_LIMIT = 10_000
/**
 * How long applied usage-batch ids are kept for the replay guard: far beyond any retry (BullMQ's
 * backoff ends within minutes, the API's recorder retries for as long as its queue is down).
 */
export const USAGE_BATCH_RETENTION = Duration.days(7)
const RELAY_LIMIT = 1_000

export class ExpiryNotifications extends Context.Tag("@keys/core/ExpiryNotifications")<
  ExpiryNotifications,
  {
    /** Claims what is due now and relays it; safe to run from any number of workers at once. */
    readonly scan: Effect.Effect<ScanResult, StoreUnavailable>
    /** Hands pending deliveries (including ones a crash left behind) to the queue. */
    readonly relay: Effect.Effect<number, StoreUnavailable>
    /** Sends one delivery; a failure is for the queue to retry. */
    readonly deliver: (id: string) => Effect.Effect<DeliveryOutcome, NotificationFailed | StoreUnavailable>
    /** Records that retries are exhausted (the dead-letter record). */
    readonly giveUp: (id: string, reason: string) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

export const make = Effect.gen(function* () {
  const repository = yield* KeyRepository
  const outbox = yield* DeliveryOutbox
  const queue = yield* DeliveryQueue
  const notifier = yield* Notifier
  const random = yield* SecureRandom
  const { expiryThresholds } = yield* KeysConfig
  const clock = yield* Effect.clock
  const now = () => new Date(clock.unsafeCurrentTimeMillis())

  const relay = Effect.gen(function* () {
    const pending = yield* outbox.pending(RELAY_LIMIT)
    const enqueued: Array<string> = []
    for (const delivery of pending) {
      const accepted = yield* Effect.either(queue.enqueue(delivery))
      // A queue that refuses now leaves the delivery pending: the next relay tries again.
      if (accepted._tag === "Left") break
      enqueued.push(delivery.id)
    }
    if (enqueued.length > 0) yield* outbox.markEnqueued(enqueued, now())
    return enqueued.length
  })

  const scan = Effect.gen(function* () {
    const scanId = randomBase62(12, random.nextBytes)
    const windows = Expiry.windows(now(), expiryThresholds)
    const claims = yield* repository.claimExpiryNotifications(windows, { scanId, limit: SCAN_LIMIT })
    const enqueued = yield* relay
    // Housekeeping rides on the scan's schedule: a failure here must not fail the scan.
    const forgottenBatches = yield* repository
      .forgetUsageBatches(USAGE_BATCH_RETENTION)
      .pipe(
        Effect.catchAll((error) =>
          Effect.as(
            Effect.logWarning("forgetting old usage batches failed").pipe(
              Effect.annotateLogs({ error: error.message })
            ),
            0
          )
        )
      )
    if (claims.length > 0 || forgottenBatches > 0)
      yield* Effect.logInfo("expiry scan").pipe(
        Effect.annotateLogs({ claimed: claims.length, enqueued, forgottenBatches })
      )
    return { claimed: claims.length, enqueued, forgottenBatches }
  })

  const deliver = (id: string) =>
    Effect.gen(function* () {
      const found = yield* outbox.load(id)
      if (Option.isNone(found)) return "unknown" as const
      const delivery = found.value
      if (delivery.deliveredAt !== null) return "already-delivered" as const
      if (delivery.deadAt !== null) return "dead" as const
      const at = now()
      yield* notifier.deliver({
        id: delivery.id,
        type: Expiry.notificationType(delivery.threshold),
        teamId: delivery.teamId,
        threshold: delivery.threshold,
        keys: delivery.keys.map((key) => toApiKey(key, at.getTime()))
      })
      yield* outbox.markDelivered(delivery.id, now())
      return "delivered" as const
    })

  const giveUp = (id: string, reason: string) =>
    Effect.zipRight(
      outbox.markDead(id, now(), reason),
      Effect.logError("expiry notification given up").pipe(Effect.annotateLogs({ id, reason }))
    )

  return ExpiryNotifications.of({ scan, relay, deliver, giveUp })
})

export const layer: Layer.Layer<
  ExpiryNotifications,
  never,
  KeyRepository | DeliveryOutbox | DeliveryQueue | Notifier | SecureRandom | KeysConfig
> = Layer.effect(ExpiryNotifications, make)

/** Retries of a delivery in process: 5 tries with exponential backoff from 1 s. */
export const inProcessRetry = Schedule.exponential(Duration.seconds(1)).pipe(
  Schedule.intersect(Schedule.recurs(4))
)

/**
 * Embedded mode: the scan on an Effect schedule (at start, then every `expiryScanEvery`) and
 * deliveries from an in-process queue with retries, for as long as the layer lives.
 */
export const layerInProcess = (
  retry: Schedule.Schedule<unknown, NotificationFailed | StoreUnavailable> = inProcessRetry
): Layer.Layer<
  ExpiryNotifications,
  never,
  KeyRepository | DeliveryOutbox | Notifier | SecureRandom | KeysConfig
> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const deliveries = yield* Queue.unbounded<PendingDelivery>()
      const queueLayer = Layer.succeed(DeliveryQueue, {
        enqueue: (delivery) => Queue.offer(deliveries, delivery)
      })
      const jobs = Layer.scopedDiscard(
        Effect.gen(function* () {
          const notifications = yield* ExpiryNotifications
          const { expiryScanEvery } = yield* KeysConfig
          const deliverWithRetry = (delivery: PendingDelivery) =>
            notifications.deliver(delivery.id).pipe(
              Effect.retry(retry),
              Effect.catchAll((error) => notifications.giveUp(delivery.id, error.message))
            )
          yield* Queue.take(deliveries).pipe(
            Effect.flatMap((delivery) => Effect.fork(deliverWithRetry(delivery))),
            Effect.forever,
            Effect.forkScoped
          )
          yield* notifications.scan.pipe(
            Effect.catchAll((error) =>
              Effect.logWarning("expiry scan failed").pipe(Effect.annotateLogs({ error: error.message }))
            ),
            Effect.repeat(Schedule.spaced(expiryScanEvery)),
            Effect.forkScoped
          )
        })
      )
      return jobs.pipe(Layer.provideMerge(layer), Layer.provide(queueLayer))
    })
  )
