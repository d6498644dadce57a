import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schedule, TestClock } from "effect"
import {
  ApiKeys,
  DeliveryOutbox,
  ExpiryNotifications,
  KeysConfig,
  Notifier,
  SecureRandom
} from "../src/index.js"
import { NotificationFailed } from "../src/Errors.js"
import { InMemoryKeyRepository, TestKeys } from "../src/testing/index.js"

const T0 = 1_900_000_000_000
const HOUR = 3_600_000

const setup = (
  deliver: Notifier.Notifier["Type"]["deliver"],
  retry: Schedule.Schedule<unknown, unknown> = ExpiryNotifications.inProcessRetry
) => {
  const repository = InMemoryKeyRepository.make()
  const settings: Partial<KeysConfig.Settings> = {
    expiryScanEvery: Duration.hours(1),
    usageFlushInterval: Duration.hours(1)
  }
  const notifications = ExpiryNotifications.layerInProcess(retry).pipe(
    Layer.provide(
      Layer.mergeAll(
        InMemoryKeyRepository.layerWithOutbox(repository),
        Layer.succeed(Notifier.Notifier, { deliver }),
        SecureRandom.layer,
        KeysConfig.layer(settings)
      )
    )
  )
  return { repository, layer: Layer.merge(notifications, TestKeys.layer({ repository, settings })) }
}

describe("ExpiryNotifications", () => {
  it.effect("notifies each (key, threshold) once, one notification per team and threshold", () => {
    const sent: Array<Notifier.ExpiryNotification> = []
    const { layer } = setup((notification) => Effect.sync(() => void sent.push(notification)))
    return Effect.gen(function* () {
      const keys = yield* ApiKeys.ApiKeys
      const notifications = yield* ExpiryNotifications.ExpiryNotifications
      for (const [team, hours] of [
        ["a", 12],
        ["a", 13],
        ["b", 12],
        ["a", 100]
      ] as const) {
        yield* keys.create({ teamId: team, name: `${team}${hours}`, expiresAt: new Date(T0 + hours * HOUR) })
      }
      yield* notifications.scan
      yield* TestClock.adjust(Duration.millis(1)) // let the delivery fiber run
      const summary = sent.map((n) => `${n.teamId}/${n.threshold}/${n.type}/${n.keys.length}`).sort()
      expect(summary).toEqual(["a/1d/keys.expiring/2", "a/7d/keys.expiring/1", "b/1d/keys.expiring/1"])
      yield* notifications.scan
      yield* TestClock.adjust(Duration.millis(1))
      expect(sent).toHaveLength(3)
      // At expiry every key crosses 0 once more.
      yield* TestClock.adjust(Duration.hours(101))
      yield* TestClock.adjust(Duration.millis(1))
      const expired = sent
        .filter((n) => n.type === "keys.expired")
        .flatMap((n) => n.keys.map((key) => key.name))
      expect(expired.sort()).toEqual(["a100", "a12", "a13", "b12"])
      expect(new Set(sent.map((n) => n.id)).size).toBe(sent.length)
    }).pipe(Effect.provide(layer), (effect) => Effect.zipRight(TestClock.setTime(T0), Effect.scoped(effect)))
  })

  it.effect("retries a failing delivery, then records it as dead", () => {
    let attempts = 0
    const { layer, repository } = setup(
      () =>
        Effect.suspend(() => {
          attempts++
          return Effect.fail(new NotificationFailed({ message: "webhook answered 500" }))
        }),
      Schedule.spaced(Duration.seconds(1)).pipe(Schedule.intersect(Schedule.recurs(4)))
    )
    return Effect.gen(function* () {
      const keys = yield* ApiKeys.ApiKeys
      const notifications = yield* ExpiryNotifications.ExpiryNotifications
      yield* keys.create({ teamId: "a", name: "soon", expiresAt: new Date(T0 + HOUR) })
      yield* notifications.scan
      yield* TestClock.adjust(Duration.seconds(10))
      expect(attempts).toBe(5)
      expect(repository.inspect.deadLetters()).toEqual([
        { id: expect.stringMatching(/^dlv_/), reason: "webhook answered 500" }
      ])
    }).pipe(Effect.provide(layer), (effect) => Effect.zipRight(TestClock.setTime(T0), Effect.scoped(effect)))
  })

  it.effect("delivers a delivery once even when asked twice, and relays what a crash left pending", () => {
    const sent: Array<string> = []
    const repository = InMemoryKeyRepository.make()
    return Effect.gen(function* () {
      const keys = yield* ApiKeys.ApiKeys
      yield* keys.create({ teamId: "a", name: "soon", expiresAt: new Date(T0 + HOUR) })
      // A scan that crashed after claiming: the claim and its delivery exist, nothing was enqueued.
      const [claim] = yield* repository.claimExpiryNotifications(
        [{ threshold: "1d", expiresAfter: new Date(T0), expiresAtOrBefore: new Date(T0 + 24 * HOUR) }],
        { scanId: "crashed", limit: 10 }
      )
      const outbox = yield* DeliveryOutbox.DeliveryOutbox
      expect((yield* outbox.pending(10)).map((delivery) => delivery.id)).toEqual([claim!.deliveryId])
      const notifications = yield* ExpiryNotifications.ExpiryNotifications
      expect(yield* notifications.relay).toBe(1)
      yield* TestClock.adjust(Duration.millis(1))
      expect(sent).toEqual([claim!.deliveryId])
      expect(yield* notifications.deliver(claim!.deliveryId)).toBe("already-delivered")
      expect(yield* notifications.relay).toBe(0)
      expect(sent).toHaveLength(1)
    }).pipe(
      Effect.provide(
        Layer.merge(
          ExpiryNotifications.layerInProcess().pipe(
            Layer.provide(
              Layer.mergeAll(
                InMemoryKeyRepository.layerWithOutbox(repository),
                Layer.succeed(Notifier.Notifier, { deliver: (n) => Effect.sync(() => void sent.push(n.id)) }),
                SecureRandom.layer,
                KeysConfig.layer({ expiryScanEvery: Duration.days(1) })
              )
            )
          ),
          Layer.merge(InMemoryKeyRepository.layerWithOutbox(repository), TestKeys.layer({ repository }))
        )
      ),
      (effect) => Effect.zipRight(TestClock.setTime(T0), Effect.scoped(effect))
    )
  })
})
