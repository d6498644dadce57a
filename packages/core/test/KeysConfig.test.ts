import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Either } from "effect"
import { KeyFormat, KeysConfig } from "../src/index.js"

const read = (env: Record<string, string>) =>
  Effect.either(
    Effect.withConfigProvider(KeysConfig.fromEnv, ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe("KeysConfig", () => {
  it.effect("uses the contract's defaults when nothing is set", () =>
    Effect.gen(function* () {
      const settings = Either.getOrThrow(yield* read({}))
      expect(settings.keyFormat).toBe(KeyFormat.defaultFormat)
      expect(settings.scopeCatalogue).toBeNull()
      expect(Duration.toMillis(settings.cacheTtl)).toBe(60_000)
      expect(Duration.toMillis(settings.cacheStaleIfError)).toBe(30_000)
      expect(settings.cacheMaxEntries).toBe(100_000)
      expect(Duration.toMillis(settings.usageFlushInterval)).toBe(1000)
      expect(settings.expiryThresholds.map(Duration.toMillis)).toEqual([604_800_000, 86_400_000, 0])
      expect(Duration.toMillis(settings.expiryScanEvery)).toBe(3_600_000)
    })
  )

  it.effect("reads every variable", () =>
    Effect.gen(function* () {
      const settings = Either.getOrThrow(
        yield* read({
          KEYS_KEY_FORMAT: "send0",
          KEYS_SCOPES: "send, read,cancel",
          KEYS_CACHE_TTL_MS: "5000",
          KEYS_CACHE_MAX: "10",
          KEYS_CACHE_STALE_IF_ERROR_MS: "0",
          KEYS_USAGE_FLUSH_MS: "250ms",
          KEYS_EXPIRY_THRESHOLDS: "3d,0",
          KEYS_EXPIRY_SCAN_EVERY: "5m"
        })
      )
      expect(settings.keyFormat).toBe(KeyFormat.send0)
      expect([...(settings.scopeCatalogue ?? [])]).toEqual(["send", "read", "cancel"])
      expect(Duration.toMillis(settings.cacheTtl)).toBe(5000)
      expect(settings.cacheMaxEntries).toBe(10)
      expect(Duration.toMillis(settings.cacheStaleIfError)).toBe(0)
      expect(Duration.toMillis(settings.usageFlushInterval)).toBe(250)
      expect(settings.expiryThresholds.map(Duration.toMillis)).toEqual([259_200_000, 0])
      expect(Duration.toMillis(settings.expiryScanEvery)).toBe(300_000)
    })
  )

  it.effect("names the variable of a bad value", () =>
    Effect.gen(function* () {
      for (const [name, value] of [
        ["KEYS_KEY_FORMAT", "stripe"],
        ["KEYS_CACHE_MAX", "-1"],
        ["KEYS_CACHE_STALE_IF_ERROR_MS", "a while"],
        ["KEYS_EXPIRY_SCAN_EVERY", "1w"],
        ["KEYS_SCOPES", "Send"],
        ["KEYS_EXPIRY_THRESHOLDS", "soon"]
      ] as const) {
        const result = yield* read({ [name]: value })
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(String(result.left)).toContain(name)
      }
    })
  )
})
