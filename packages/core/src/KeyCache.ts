/**
 * The verification cache, by key hash. A `null` value is a negative entry (no such key), kept
 * briefly so junk tokens cannot hammer the store. Synchronous on purpose: it is read on every
 * verification and an in-process map cannot fail.
 */
import { Context, Effect, Layer } from "effect"
import type { ApiKeyRecord } from "./ApiKey.js"
import { KeysConfig } from "./KeysConfig.js"

export class KeyCache extends Context.Tag("@keys/core/KeyCache")<
  KeyCache,
  {
    /** The cached record, `null` for a cached miss, `undefined` when absent or past its TTL. */
    readonly get: (hash: string, nowMillis: number) => ApiKeyRecord | null | undefined
    readonly set: (hash: string, record: ApiKeyRecord | null, expiresAtMillis: number) => void
    readonly evict: (hash: string) => void
    readonly clear: () => void
    readonly size: () => number
  }
>() {}

interface Entry {
  readonly record: ApiKeyRecord | null
  readonly expiresAtMillis: number
}

/**
 * An in-process map with per-entry TTL, bounded to `maxEntries`. When full it evicts the oldest
 * insertion (a Map iterates in insertion order): recency is not tracked because refreshing on every
 * read would cost the hot path a delete and an insert, and the TTL already recycles entries.
 */
export const makeInMemory = (maxEntries: number): KeyCache["Type"] => {
  const entries = new Map<string, Entry>()
  return {
    get: (hash, nowMillis) => {
      const entry = entries.get(hash)
      if (entry === undefined) return undefined
      if (entry.expiresAtMillis <= nowMillis) {
        entries.delete(hash)
        return undefined
      }
      return entry.record
    },
    set: (hash, record, expiresAtMillis) => {
      if (maxEntries <= 0) return
      entries.delete(hash)
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next()
        if (!oldest.done) entries.delete(oldest.value)
      }
      entries.set(hash, { record, expiresAtMillis })
    },
    evict: (hash) => {
      entries.delete(hash)
    },
    clear: () => entries.clear(),
    size: () => entries.size
  }
}

export const layerInMemory = (maxEntries: number): Layer.Layer<KeyCache> =>
  Layer.sync(KeyCache, () => makeInMemory(maxEntries))

/** The in-memory cache sized by `KeysConfig.cacheMaxEntries`. */
export const layerFromConfig: Layer.Layer<KeyCache, never, KeysConfig> = Layer.effect(
  KeyCache,
  Effect.map(KeysConfig, (settings) => makeInMemory(settings.cacheMaxEntries))
)
