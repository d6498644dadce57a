import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, PubSub, Redacted, Stream, TestClock } from "effect"
import { ApiKeys, Errors, Invalidations, KeyFormat, KeyRepository } from "../src/index.js"
import { InMemoryKeyRepository, TestKeys } from "../src/testing/index.js"

const team = "team_a"
const secretOf = (created: { readonly secret: Redacted.Redacted<string> }) => created.secret

const T0 = 1_900_000_000_000

// The clock is set before the layers start: TestClock runs every scheduled flush between two
// times, so jumping years ahead under a running flush loop would replay each second of them.
const withKeys = <A, E>(
  body: Effect.Effect<A, E, ApiKeys.ApiKeys | KeyRepository.KeyRepository>,
  options: TestKeys.TestKeysOptions = {}
) =>
  Effect.zipRight(
    TestClock.setTime(T0),
    Effect.scoped(
      Effect.provide(
        body,
        // A slow flush loop keeps TestClock jumps of hours cheap; the usage case adjusts past it.
        TestKeys.layer({
          ...options,
          settings: { usageFlushInterval: Duration.minutes(1), ...options.settings }
        })
      )
    )
  )

describe("ApiKeys", () => {
  it.effect("creates a key shown once and verifies it", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const created = yield* keys.create({ teamId: team, name: "Production", scopes: ["send"] })
        const token = Redacted.value(created.secret)
        expect(token).toMatch(/^sk_live_[0-9A-Za-z]{48}$/)
        expect(created.key).toMatchObject({
          teamId: team,
          name: "Production",
          environment: "live",
          status: "active",
          scopes: ["send"]
        })
        expect(created.key.start).toBe(token.slice(0, 12))
        expect(JSON.stringify(created)).not.toContain(token)
        expect(String(created.secret)).not.toContain(token)
        const result = yield* keys.verify(created.secret, { scopes: ["send"] })
        expect(result).toMatchObject({ valid: true, code: "valid" })
        expect(result.key?.id).toBe(created.key.id)
      })
    )
  )

  it.effect("expires to the millisecond, even from the cache", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const start = T0
        const created = yield* keys.create({
          teamId: team,
          name: "Temp",
          expiresAt: new Date(start + 30_000)
        })
        expect((yield* keys.verify(secretOf(created))).code).toBe("valid") // now cached
        yield* TestClock.setTime(start + 29_999)
        expect((yield* keys.verify(secretOf(created))).code).toBe("valid")
        yield* TestClock.setTime(start + 30_000)
        const expired = yield* keys.verify(secretOf(created))
        expect(expired).toMatchObject({ valid: false, code: "key_expired" })
        expect(expired.key?.id).toBe(created.key.id)
        expect((yield* keys.get(team, created.key.id)).status).toBe("expired")
        expect(keys.stats().cacheHits).toBeGreaterThanOrEqual(2)
      })
    )
  )

  it.effect("refuses a revoked key on the next verify, and revoking twice is a no-op", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const repository = yield* KeyRepository.KeyRepository
        const created = yield* keys.create({ teamId: team, name: "Doomed" })
        expect((yield* keys.verify(secretOf(created))).valid).toBe(true)
        yield* TestClock.adjust(Duration.millis(1))
        const revoked = yield* keys.revoke(team, created.key.id, { keyId: "key_root" })
        expect(revoked.status).toBe("revoked")
        expect(yield* keys.verify(secretOf(created))).toEqual({ valid: false, code: "invalid_api_key" })
        const again = yield* keys.revoke(team, created.key.id)
        expect(again.revokedAt).toEqual(revoked.revokedAt)
        const audit = yield* repository.listAudit({ teamId: team, keyId: created.key.id, limit: 10 })
        expect(audit.items.map((event) => [event.action, event.actorKeyId])).toEqual([
          ["key.revoked", "key_root"],
          ["key.created", null]
        ])
      })
    )
  )

  it.effect("rolls with a grace period: both keys work until it ends, then only the new one", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const old = yield* keys.create({
          teamId: team,
          name: "Rolling",
          scopes: ["send"],
          resources: ["example.com"],
          metadata: { a: 1 }
        })
        yield* keys.verify(secretOf(old))
        const rolled = yield* keys.roll(team, old.key.id, { gracePeriod: Duration.hours(1) })
        expect(rolled.key).toMatchObject({
          name: "Rolling",
          scopes: ["send"],
          resources: ["example.com"],
          metadata: { a: 1 }
        })
        expect(Redacted.value(rolled.secret)).not.toBe(Redacted.value(old.secret))
        expect((yield* keys.verify(secretOf(old))).valid).toBe(true)
        expect((yield* keys.verify(secretOf(rolled))).valid).toBe(true)
        yield* TestClock.adjust(Duration.hours(1))
        expect((yield* keys.verify(secretOf(old))).code).toBe("key_expired")
        expect((yield* keys.verify(secretOf(rolled))).valid).toBe(true)
        // A key can be rolled once; the replacement can be rolled again, at once (no grace).
        const twice = yield* Effect.flip(keys.roll(team, old.key.id))
        expect(twice._tag).toBe("InvalidInput")
        const third = yield* keys.roll(team, rolled.key.id)
        expect((yield* keys.verify(secretOf(rolled))).code).toBe("invalid_api_key")
        expect((yield* keys.verify(secretOf(third))).valid).toBe(true)
      })
    )
  )

  it.effect("checks scopes with wildcards; unscoped keys hold product scopes but not management ones", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const scoped = yield* keys.create({ teamId: team, name: "Scoped", scopes: ["emails:*", "read"] })
        const unscoped = yield* keys.create({ teamId: team, name: "Full" })
        expect((yield* keys.verify(secretOf(scoped), { scopes: ["emails:send", "read"] })).valid).toBe(true)
        const denied = yield* keys.verify(secretOf(scoped), {
          scopes: ["emails:send", "cancel", "domains:read"]
        })
        expect(denied).toMatchObject({
          valid: false,
          code: "insufficient_scope",
          requiredScopes: ["cancel", "domains:read"]
        })
        expect((yield* keys.verify(secretOf(unscoped), { scopes: ["send", "cancel"] })).valid).toBe(true)
        expect((yield* keys.verify(secretOf(unscoped), { scopes: ["keys:read"] })).code).toBe(
          "insufficient_scope"
        )
      })
    )
  )

  it.effect("restricts resources when the request names one", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const restricted = yield* keys.create({ teamId: team, name: "Domain", resources: ["example.com"] })
        expect((yield* keys.verify(secretOf(restricted), { resource: "example.com" })).valid).toBe(true)
        expect(yield* keys.verify(secretOf(restricted), { resource: "evil.com" })).toMatchObject({
          valid: false,
          code: "resource_not_allowed",
          resource: "evil.com"
        })
        const open = yield* keys.create({ teamId: team, name: "Any" })
        expect((yield* keys.verify(secretOf(open), { resource: "evil.com" })).valid).toBe(true)
      })
    )
  )

  it.effect("bounds everything to the team: another team's key is unknown, never revealed", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const created = yield* keys.create({ teamId: "team_b", name: "B" })
        expect((yield* Effect.flip(keys.get(team, created.key.id)))._tag).toBe("KeyNotFound")
        expect((yield* Effect.flip(keys.revoke(team, created.key.id)))._tag).toBe("KeyNotFound")
        expect((yield* Effect.flip(keys.update(team, created.key.id, { name: "x" })))._tag).toBe(
          "KeyNotFound"
        )
        expect((yield* keys.list({ teamId: team })).data).toEqual([])
        expect(yield* keys.verify(secretOf(created), { teamId: team })).toEqual({
          valid: false,
          code: "invalid_api_key"
        })
        expect((yield* keys.verify(secretOf(created), { teamId: "team_b" })).valid).toBe(true)
      })
    )
  )

  it.effect("refuses malformed tokens before any store lookup, and caches unknown hashes briefly", () => {
    let lookups = 0
    const base = InMemoryKeyRepository.make()
    const counting: InMemoryKeyRepository.InMemoryKeyRepository = {
      ...base,
      findByHash: (hash) =>
        Effect.suspend(() => {
          lookups++
          return base.findByHash(hash)
        })
    }
    return withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const created = yield* keys.create({ teamId: team, name: "Real" })
        const token = Redacted.value(created.secret)
        const wrongChecksum = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0")
        for (const bad of [
          "",
          "Bearer x",
          "sk_live_",
          wrongChecksum,
          `${token}x`,
          `sk_live_${"é".repeat(48)}`
        ]) {
          expect(yield* keys.verify(Redacted.make(bad))).toEqual({ valid: false, code: "invalid_api_key" })
        }
        expect(lookups).toBe(0)
        const unknown = KeyFormat.generate(KeyFormat.defaultFormat, "sk_live_", (n) =>
          globalThis.crypto.getRandomValues(new Uint8Array(n))
        )
        for (let i = 0; i < 5; i++)
          expect((yield* keys.verify(Redacted.make(unknown))).code).toBe("invalid_api_key")
        expect(lookups).toBe(1)
        yield* TestClock.adjust(Duration.seconds(6))
        yield* keys.verify(Redacted.make(unknown))
        expect(lookups).toBe(2)
        expect(keys.stats().outcomes.invalid_api_key).toBe(12)
      }),
      { repository: counting }
    )
  })

  it.effect("coalesces concurrent cache misses for one key into one store read", () => {
    let lookups = 0
    const base = InMemoryKeyRepository.make()
    const slow: InMemoryKeyRepository.InMemoryKeyRepository = {
      ...base,
      findByHash: (hash) =>
        Effect.suspend(() => {
          lookups++
          return base.findByHash(hash).pipe(Effect.delay(Duration.millis(10)))
        })
    }
    return withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const created = yield* keys.create({ teamId: team, name: "Hot" })
        // Creation evicts; make sure the next reads miss.
        const results = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 20 }, () => keys.verify(secretOf(created))),
            { concurrency: "unbounded" }
          )
        )
        yield* TestClock.adjust(Duration.millis(10))
        const all = yield* Effect.flatMap(Effect.succeed(results), (fiber) => fiber.await)
        expect(all._tag).toBe("Success")
        expect(lookups).toBe(1)
      }),
      { repository: slow }
    )
  })

  it.effect("evicts across instances sharing a store: a revoke on one is refused by the other", () => {
    return Effect.gen(function* () {
      const invalidations = yield* Invalidations.makeInProcess
      const repository = InMemoryKeyRepository.make({ invalidations })
      const instance = TestKeys.layer({ repository, invalidations })
      const [a, b] = yield* Effect.all([Layer.build(instance), Layer.build(instance)])
      const keysA = a.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
      const keysB = b.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
      const created = yield* keysA.create({ teamId: team, name: "Shared" })
      expect((yield* keysA.verify(secretOf(created))).valid).toBe(true)
      expect((yield* keysB.verify(secretOf(created))).valid).toBe(true)
      expect(keysB.verifyCached(Redacted.value(created.secret))?.valid).toBe(true)
      yield* keysA.revoke(team, created.key.id)
      // The event crosses a hub to the other instance's subscriber fiber: let it run.
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect(keysB.verifyCached(Redacted.value(created.secret))).toBeUndefined()
      expect((yield* keysB.verify(secretOf(created))).code).toBe("invalid_api_key")
    }).pipe(Effect.scoped)
  })

  it.effect(
    "while invalidations are down, cached keys are checked with the store, and answer alone only when it fails",
    () =>
      Effect.gen(function* () {
        // One hub for both instances, which can drop notifications (a lost subscription) and carry
        // the Lost/Reset events a store adapter emits.
        const hub = yield* PubSub.unbounded<Invalidations.InvalidationEvent>()
        let delivering = true
        const invalidations: Invalidations.Invalidations["Type"] = {
          publish: (hash) =>
            delivering ? Effect.asVoid(PubSub.publish(hub, { _tag: "KeyChanged", hash })) : Effect.void,
          subscribe: Effect.map(PubSub.subscribe(hub), (dequeue) => Stream.fromQueue(dequeue))
        }
        const emit = (event: Invalidations.InvalidationEvent) =>
          Effect.zipRight(PubSub.publish(hub, event), settle)
        const settle = Effect.repeatN(Effect.yieldNow(), 100)
        const base = InMemoryKeyRepository.make({ invalidations })
        let failing = false
        let lookups = 0
        const repository: InMemoryKeyRepository.InMemoryKeyRepository = {
          ...base,
          findByHash: (hash) =>
            Effect.suspend(() => {
              lookups++
              return failing
                ? Effect.fail(new Errors.StoreUnavailable({ message: "The key store is unavailable." }))
                : base.findByHash(hash)
            })
        }
        yield* TestClock.setTime(T0)
        const instance = TestKeys.layer({
          repository,
          invalidations,
          // An allowance past the TTL, so the TTL's own bound shows below.
          settings: { usageFlushInterval: Duration.minutes(10), cacheStaleIfError: Duration.minutes(5) }
        })
        const [a, b] = yield* Effect.all([Layer.build(instance), Layer.build(instance)])
        const keysA = a.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
        const keysB = b.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
        const revoked = yield* keysA.create({ teamId: team, name: "Revoked in the gap" })
        const warm = yield* keysA.create({ teamId: team, name: "Warm" })
        const cold = yield* keysA.create({ teamId: team, name: "Never verified on B" })
        const token = (created: { readonly secret: Redacted.Redacted<string> }) =>
          Redacted.value(created.secret)
        // Let B hear of the creations first: an eviction during a read stops it filling the cache.
        yield* settle
        expect((yield* keysB.verify(revoked.secret)).valid).toBe(true)
        expect((yield* keysB.verify(warm.secret)).valid).toBe(true)
        expect(keysB.verifyCached(token(revoked))?.valid).toBe(true)

        // The subscription drops; a revoke on A is not heard by B.
        delivering = false
        yield* emit({ _tag: "Lost" })
        yield* keysA.revoke(team, revoked.key.id)
        yield* settle
        // B no longer answers from its cache while the store can: the revocation is honoured.
        expect(keysB.verifyCached(token(revoked))).toBeUndefined()
        const before = lookups
        expect((yield* keysB.verify(revoked.secret)).code).toBe("invalid_api_key")
        expect((yield* keysB.verify(warm.secret)).valid).toBe(true)
        expect(lookups - before).toBe(2)

        // The store goes down as well: cached records answer, uncached keys get StoreUnavailable.
        failing = true
        expect((yield* keysB.verify(warm.secret)).valid).toBe(true)
        expect((yield* keysB.verify(revoked.secret)).code).toBe("invalid_api_key")
        const error = yield* Effect.flip(keysB.verify(cold.secret))
        expect(error._tag).toBe("StoreUnavailable")
        // Until the store is tried again, cached records answer synchronously, without a lookup.
        const duringOutage = lookups
        expect(keysB.verifyCached(token(warm))?.valid).toBe(true)
        expect(lookups).toBe(duringOutage)
        expect(keysB.stats().staleHits).toBe(3)
        yield* TestClock.adjust(Duration.millis(ApiKeys.STORE_RETRY_MILLIS))
        expect(keysB.verifyCached(token(warm))).toBeUndefined()
        // A cached record is never used past its TTL, outage or not.
        yield* TestClock.adjust(Duration.seconds(60))
        expect((yield* Effect.flip(keysB.verify(warm.secret)))._tag).toBe("StoreUnavailable")

        // Subscribed again: B clears its cache and trusts it again.
        failing = false
        delivering = true
        expect((yield* keysB.verify(warm.secret)).valid).toBe(true)
        yield* emit({ _tag: "Reset" })
        expect(keysB.verifyCached(token(warm))).toBeUndefined()
        expect((yield* keysB.verify(warm.secret)).valid).toBe(true)
        const hits = keysB.stats().cacheHits
        expect(keysB.verifyCached(token(warm))?.valid).toBe(true)
        expect(keysB.stats().cacheHits).toBe(hits + 1)
        // Synchronized again, a store failure no longer lets the cache vouch beyond its normal use.
        failing = true
        expect((yield* Effect.flip(keysB.verify(cold.secret)))._tag).toBe("StoreUnavailable")
        expect(keysB.stats().staleHits).toBe(3)
      }).pipe(Effect.scoped)
  )

  it.effect("answers from a stale cache only within the stale-if-error allowance after Lost", () =>
    Effect.gen(function* () {
      const hub = yield* PubSub.unbounded<Invalidations.InvalidationEvent>()
      const invalidations: Invalidations.Invalidations["Type"] = {
        publish: (hash) => Effect.asVoid(PubSub.publish(hub, { _tag: "KeyChanged", hash })),
        subscribe: Effect.map(PubSub.subscribe(hub), (dequeue) => Stream.fromQueue(dequeue))
      }
      const settle = Effect.repeatN(Effect.yieldNow(), 10)
      const base = InMemoryKeyRepository.make({ invalidations })
      let failing = false
      const repository: InMemoryKeyRepository.InMemoryKeyRepository = {
        ...base,
        findByHash: (hash) =>
          failing
            ? Effect.fail(new Errors.StoreUnavailable({ message: "The key store is unavailable." }))
            : base.findByHash(hash)
      }
      yield* TestClock.setTime(T0)
      const build = (cacheStaleIfError: Duration.Duration) =>
        Effect.map(
          Layer.build(
            TestKeys.layer({
              repository,
              invalidations,
              settings: { usageFlushInterval: Duration.minutes(10), cacheStaleIfError }
            })
          ),
          (context) => context.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
        )
      const lenient = yield* build(Duration.seconds(30))
      const strict = yield* build(Duration.zero)
      const created = yield* lenient.create({ teamId: team, name: "Warm" })
      yield* settle
      expect((yield* lenient.verify(created.secret)).valid).toBe(true)
      expect((yield* strict.verify(created.secret)).valid).toBe(true)

      yield* Effect.zipRight(PubSub.publish(hub, { _tag: "Lost" }), settle)
      failing = true
      // Zero allowance: the strict instance refuses what it cannot check (a 503 over HTTP).
      expect((yield* Effect.flip(strict.verify(created.secret)))._tag).toBe("StoreUnavailable")
      yield* TestClock.adjust(Duration.seconds(29))
      expect((yield* lenient.verify(created.secret)).valid).toBe(true)
      // Past the allowance the cached record, though within its TTL, no longer answers.
      yield* TestClock.adjust(Duration.seconds(2))
      expect(lenient.verifyCached(Redacted.value(created.secret))).toBeUndefined()
      expect((yield* Effect.flip(lenient.verify(created.secret)))._tag).toBe("StoreUnavailable")
    }).pipe(Effect.scoped)
  )

  it.effect("validates input with the field named", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const fail = <A, E>(effect: Effect.Effect<A, E>) => Effect.flip(effect)
        expect(yield* fail(keys.create({ teamId: team, name: "" }))).toMatchObject({
          _tag: "InvalidInput",
          field: "name"
        })
        expect(yield* fail(keys.create({ teamId: team, name: "x".repeat(201) }))).toMatchObject({
          field: "name"
        })
        expect(yield* fail(keys.create({ teamId: team, name: "ok", scopes: ["Bad Scope"] }))).toMatchObject({
          field: "scopes.0"
        })
        expect(
          yield* fail(keys.create({ teamId: team, name: "ok", expiresAt: new Date(1_800_000_000_000) }))
        ).toMatchObject({
          field: "expiresAt"
        })
        expect(
          yield* fail(keys.create({ teamId: team, name: "ok", metadata: { big: "x".repeat(9000) } }))
        ).toMatchObject({
          field: "metadata"
        })
        expect(yield* fail(keys.list({ teamId: team, limit: 101 }))).toMatchObject({ field: "limit" })
        expect(yield* fail(keys.list({ teamId: team, cursor: "garbage!" }))).toMatchObject({
          field: "cursor"
        })
        expect(yield* fail(keys.create({ teamId: team, name: "lone \ud800 surrogate" }))).toMatchObject({
          field: "name"
        })
        expect(yield* fail(keys.create({ teamId: team, name: "nul \u0000" }))).toMatchObject({
          field: "name"
        })
        expect(
          yield* fail(keys.create({ teamId: team, name: "ok", metadata: { a: "\u0000" } }))
        ).toMatchObject({ field: "metadata" })
        expect(yield* fail(keys.create({ teamId: team, name: "ok", resources: ["a\udc00"] }))).toMatchObject({
          field: "resources.0"
        })
        expect((yield* keys.create({ teamId: team, name: "emoji \u{1F511} ok" })).key.name).toBe(
          "emoji \u{1F511} ok"
        )
        const scopeSecret = `sk_live_${"A".repeat(48)}`
        const leaked = yield* fail(keys.create({ teamId: team, name: "ok", scopes: [scopeSecret] }))
        expect(leaked.message).not.toContain(scopeSecret)
      })
    )
  )

  it.effect("enforces the scope catalogue, always allowing management scopes", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        yield* keys.create({ teamId: team, name: "ok", scopes: ["send", "keys:read", "admin"] })
        const refused = yield* Effect.flip(keys.create({ teamId: team, name: "bad", scopes: ["delete"] }))
        expect(refused).toMatchObject({ _tag: "InvalidInput", field: "scopes" })
      }),
      { settings: { scopeCatalogue: new Set(["send", "read", "cancel"]) } }
    )
  )

  it.effect("mints each preset's documented prefixes, deriving the environment from the record", () =>
    Effect.gen(function* () {
      const send0 = yield* withKeys(
        Effect.gen(function* () {
          const keys = yield* ApiKeys.ApiKeys
          const restricted = yield* keys.create({ teamId: team, name: "r", scopes: ["send"] })
          const live = yield* keys.create({ teamId: team, name: "l" })
          const test = yield* keys.create({ teamId: team, name: "t", environment: "test", scopes: ["send"] })
          const verified = yield* keys.verify(restricted.secret)
          return { restricted, live, test, environment: verified.key?.environment }
        }),
        { settings: { keyFormat: KeyFormat.send0 } }
      )
      expect(Redacted.value(send0.restricted.secret)).toMatch(/^sk_restr_[0-9A-Za-z]{48}$/)
      expect(Redacted.value(send0.live.secret)).toMatch(/^sk_live_[0-9A-Za-z]{48}$/)
      expect(Redacted.value(send0.test.secret)).toMatch(/^sk_test_[0-9A-Za-z]{48}$/)
      expect(send0.environment).toBe("live")
      const sendkit = yield* withKeys(
        Effect.gen(function* () {
          const keys = yield* ApiKeys.ApiKeys
          const created = yield* keys.create({ teamId: team, name: "s" })
          const refused = yield* Effect.flip(keys.create({ teamId: team, name: "t", environment: "test" }))
          return { created, refused }
        }),
        { settings: { keyFormat: KeyFormat.sendkit } }
      )
      expect(Redacted.value(sendkit.created.secret)).toMatch(/^sk_[0-9A-Za-z]{48}$/)
      expect(sendkit.refused).toMatchObject({ _tag: "InvalidInput", field: "environment" })
    })
  )

  it.effect("lists with filters and cursors, newest first", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        for (let i = 0; i < 25; i++) {
          yield* keys.create({
            teamId: team,
            name: `k${i}`,
            environment: i % 5 === 0 ? "test" : "live",
            ...(i < 3 ? { expiresAt: new Date(T0 + (i + 1) * 3_600_000) } : {})
          })
          yield* TestClock.adjust(Duration.millis(1))
        }
        const first = yield* keys.list({ teamId: team, limit: 10 })
        expect(first.data.map((key) => key.name)).toEqual(Array.from({ length: 10 }, (_, i) => `k${24 - i}`))
        const second = yield* keys.list({ teamId: team, limit: 10, cursor: first.nextCursor! })
        const third = yield* keys.list({ teamId: team, limit: 10, cursor: second.nextCursor! })
        expect(third.data).toHaveLength(5)
        expect(third.nextCursor).toBeNull()
        expect((yield* keys.list({ teamId: team, environment: "test" })).data).toHaveLength(5)
        expect(
          (yield* keys.list({ teamId: team, expiringWithin: Duration.hours(2) })).data.map((key) => key.name)
        ).toEqual(["k1", "k0"])
        yield* TestClock.adjust(Duration.hours(1))
        expect((yield* keys.list({ teamId: team, status: "expired" })).data.map((key) => key.name)).toEqual([
          "k0"
        ])
      })
    )
  )

  it.effect("updates fields and evicts the cached record", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const created = yield* keys.create({ teamId: team, name: "Editable", scopes: ["read"] })
        expect((yield* keys.verify(secretOf(created), { scopes: ["send"] })).code).toBe("insufficient_scope")
        const updated = yield* keys.update(team, created.key.id, {
          scopes: ["read", "send"],
          name: "Edited",
          metadata: null
        })
        expect(updated).toMatchObject({ name: "Edited", scopes: ["read", "send"] })
        expect((yield* keys.verify(secretOf(created), { scopes: ["send"] })).valid).toBe(true)
        expect(yield* keys.update(team, created.key.id, {})).toMatchObject({ name: "Edited" })
      })
    )
  )

  it.effect("records usage in memory and flushes one entry per key", () =>
    withKeys(
      Effect.gen(function* () {
        const keys = yield* ApiKeys.ApiKeys
        const repository = yield* KeyRepository.KeyRepository
        const created = yield* keys.create({ teamId: team, name: "Busy" })
        for (let i = 0; i < 10_000; i++) yield* keys.verify(created.secret)
        expect((yield* keys.get(team, created.key.id)).lastUsedAt).toBeNull()
        yield* TestClock.adjust(Duration.minutes(1))
        const key = yield* keys.get(team, created.key.id)
        expect(key.lastUsedAt).toEqual(new Date(T0))
        expect(yield* repository.dailyUsage(team, created.key.id, 7)).toEqual([
          { day: "2030-03-17", count: 10_000 }
        ])
      })
    )
  )
})
