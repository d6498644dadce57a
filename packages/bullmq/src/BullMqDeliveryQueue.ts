/**
 * The core's `DeliveryQueue` on BullMQ: the delivery id is the job id, so relaying the same
 * delivery twice (after a crash between enqueue and marking it enqueued) makes one job.
 */
import { ExpiryNotifications } from "@keys/core"
import { Queue } from "bullmq"
import { Duration, Effect, Layer } from "effect"
import { DELIVERIES, deliveryJobOptions } from "./Queues.js"
import { connect, RedisSettings } from "./Redis.js"

export const make = Effect.gen(function* () {
  const settings = yield* RedisSettings
  const connection = yield* connect(settings, "producer")
  const queue = yield* Effect.acquireRelease(
    Effect.sync(
      () => new Queue(DELIVERIES, { connection, prefix: settings.prefix, skipWaitingForReady: true })
    ),
    (queue) => Effect.promise(() => queue.close().catch(() => undefined))
  )
  queue.on("error", () => undefined)
  return ExpiryNotifications.DeliveryQueue.of({
    enqueue: (delivery) =>
      Effect.tryPromise({
        try: () => queue.add("deliver", { deliveryId: delivery.id }, deliveryJobOptions(delivery.id)),
        catch: (cause) =>
          new ExpiryNotifications.QueueUnavailable({ message: "The delivery queue is unavailable.", cause })
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.seconds(5),
          onTimeout: () =>
            new ExpiryNotifications.QueueUnavailable({
              message: "The delivery queue did not answer in time."
            })
        }),
        Effect.asVoid
      )
  })
})

export const layer: Layer.Layer<ExpiryNotifications.DeliveryQueue, never, RedisSettings> = Layer.scoped(
  ExpiryNotifications.DeliveryQueue,
  make
)
