/**
 * The core's `UsageSink` on a BullMQ queue: one job per flush, carrying the whole batch. Adding a
 * job fails fast when Redis is down; the API's usage recorder then merges the batch back and
 * retries on its next flush, so verification never notices.
 */
import { UsageSink } from "@keys/core"
import { Errors } from "@keys/core"
import { Queue } from "bullmq"
import { Duration, Effect, Layer } from "effect"
import { encodeUsageBatch, USAGE, usageJobOptions } from "./Queues.js"
import { connect, RedisSettings } from "./Redis.js"

export const ADD_TIMEOUT = Duration.seconds(2)

export const make = Effect.gen(function* () {
  const settings = yield* RedisSettings
  const connection = yield* connect(settings, "producer")
  const queue = yield* Effect.acquireRelease(
    Effect.sync(() => new Queue(USAGE, { connection, prefix: settings.prefix, skipWaitingForReady: true })),
    (queue) => Effect.promise(() => queue.close().catch(() => undefined))
  )
  queue.on("error", () => undefined)
  return UsageSink.UsageSink.of({
    send: (batch) =>
      Effect.tryPromise({
        try: () => queue.add("batch", encodeUsageBatch(batch), usageJobOptions(batch.id)),
        catch: (cause) =>
          new Errors.UsageSinkUnavailable({ message: "The usage queue is unavailable.", cause })
      }).pipe(
        Effect.timeoutFail({
          duration: ADD_TIMEOUT,
          onTimeout: () =>
            new Errors.UsageSinkUnavailable({ message: "The usage queue did not answer in time." })
        }),
        Effect.asVoid
      )
  })
})

export const layer: Layer.Layer<UsageSink.UsageSink, never, RedisSettings> = Layer.scoped(
  UsageSink.UsageSink,
  make
)
