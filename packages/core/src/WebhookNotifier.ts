/**
 * The `Notifier` that POSTs each notification to `KEYS_WEBHOOK_URL`, signed with
 * `KEYS_WEBHOOK_SECRET` (contract section 6). A non-2xx answer, a network error or a timeout is a
 * `NotificationFailed` for the caller's retries. Runs wherever `fetch` does.
 */
import { Config, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { ApiKey } from "./ApiKey.js"
import { NotificationFailed } from "./Errors.js"
import { type ExpiryNotification, Notifier, layerLog } from "./Notifier.js"

import { sign } from "./WebhookSignature.js"

export interface Options {
  readonly url: string
  readonly secret: Redacted.Redacted<string>
  readonly timeout?: Duration.DurationInput
}

const encodeKeys = Schema.encodeSync(Schema.Array(ApiKey))

/** The exact body of a delivery: the contract's fields plus the delivery `id` for deduplication. */
export const bodyOf = (notification: ExpiryNotification): string =>
  JSON.stringify({
    id: notification.id,
    type: notification.type,
    teamId: notification.teamId,
    threshold: notification.threshold,
    keys: encodeKeys(notification.keys)
  })

export const make = (options: Options): Notifier["Type"] => {
  const timeoutMillis = Duration.toMillis(Duration.decode(options.timeout ?? Duration.seconds(10)))
  return {
    deliver: (notification) =>
      Effect.gen(function* () {
        const body = bodyOf(notification)
        const clock = yield* Effect.clock
        const signature = yield* Effect.promise(() =>
          sign(Redacted.value(options.secret), body, Math.floor(clock.unsafeCurrentTimeMillis() / 1000))
        )
        const response = yield* Effect.tryPromise({
          try: (signal) =>
            fetch(options.url, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "keys-signature": signature,
                "keys-delivery-id": notification.id
              },
              body,
              signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMillis)])
            }),
          catch: (cause) => new NotificationFailed({ message: `webhook request failed: ${String(cause)}` })
        })
        yield* Effect.promise(() => response.arrayBuffer().catch(() => undefined))
        if (!response.ok)
          return yield* new NotificationFailed({ message: `webhook answered ${response.status}` })
      })
  }
}

export const layer = (options: Options): Layer.Layer<Notifier> => Layer.succeed(Notifier, make(options))

/** The webhook when `KEYS_WEBHOOK_URL` is set (then `KEYS_WEBHOOK_SECRET` is required), else logs. */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.url("KEYS_WEBHOOK_URL"))
    if (Option.isNone(url)) return layerLog
    const secret = yield* Config.redacted("KEYS_WEBHOOK_SECRET")
    return layer({ url: url.value.toString(), secret })
  })
)
