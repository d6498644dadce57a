/** Delivers expiry notifications: logged by default; webhooks and queues are adapters elsewhere. */
import { Context, Effect, Layer } from "effect"
import type { ApiKey } from "./ApiKey.js"
import type { NotificationFailed } from "./Errors.js"
import type { NotificationType } from "./Expiry.js"

export interface ExpiryNotification {
  /** The delivery id: the same on every retry, so receivers can drop duplicates. */
  readonly id: string
  readonly type: NotificationType
  readonly teamId: string
  readonly threshold: string
  readonly keys: ReadonlyArray<ApiKey>
}

export class Notifier extends Context.Tag("@keys/core/Notifier")<
  Notifier,
  {
    readonly deliver: (notification: ExpiryNotification) => Effect.Effect<void, NotificationFailed>
  }
>() {}

/** Logs each notification as one structured line (key ids only). */
export const layerLog: Layer.Layer<Notifier> = Layer.succeed(Notifier, {
  deliver: (notification) =>
    Effect.logInfo("expiry notification").pipe(
      Effect.annotateLogs({
        id: notification.id,
        type: notification.type,
        teamId: notification.teamId,
        threshold: notification.threshold,
        keyIds: notification.keys.map((key) => key.id).join(",")
      })
    )
})
