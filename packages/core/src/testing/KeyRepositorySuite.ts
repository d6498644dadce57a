/**
 * The behaviour every `KeyRepository` adapter must show, written once. Adapters call
 * `keyRepositorySuite("postgres", layer)` from their own tests. Each case works in teams of its own,
 * so the suite can share one database with other tests.
 */
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Option, type Layer } from "effect"
import type { ApiKeyRecord } from "../ApiKey.js"
import type { AuditEvent } from "../AuditEvent.js"
import * as Expiry from "../Expiry.js"
import { KeyRepository } from "../KeyRepository.js"
import { randomBase62 } from "../internal/base62.js"
import { webCrypto } from "../SecureRandom.js"

const T0 = Date.parse("2030-01-01T00:00:00.000Z")
const at = (offsetMillis: number): Date => new Date(T0 + offsetMillis)
const HOUR = 3_600_000
const DAY = 24 * HOUR

const uid = (prefix: string): string => `${prefix}_${randomBase62(16, webCrypto.nextBytes)}`

export const makeRecord = (overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord => {
  const id = overrides.id ?? uid("key")
  return {
    id,
    teamId: "team_suite",
    name: "Production",
    hash: randomBase62(64, webCrypto.nextBytes).toLowerCase(),
    prefix: "sk_live_",
    start: "sk_live_abcd",
    environment: "live",
    scopes: null,
    resources: null,
    metadata: null,
    createdAt: at(0),
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rolledFrom: null,
    replacedBy: null,
    ...overrides
  }
}

const auditFor = (
  record: { teamId: string; id: string },
  action: AuditEvent["action"],
  when: Date
): AuditEvent => ({
  id: uid("evt"),
  teamId: record.teamId,
  keyId: record.id,
  action,
  actorKeyId: "key_actor",
  at: when,
  changes: { note: "suite" }
})

export const keyRepositorySuite = <E>(name: string, repositoryLayer: Layer.Layer<KeyRepository, E>): void =>
  layer(repositoryLayer, { timeout: 120_000 })(`KeyRepository behaviour: ${name}`, (it) => {
    const insert = (record: ApiKeyRecord) =>
      Effect.flatMap(KeyRepository, (repository) =>
        repository.insert(record, auditFor(record, "key.created", record.createdAt))
      )

    it.effect("stores a record and finds it by hash and by id within its team only", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const record = makeRecord({
          teamId,
          scopes: ["emails:send", "read"],
          resources: ["example.com"],
          metadata: { plan: "pro", nested: { n: 1, list: [1, "two"] } },
          expiresAt: at(DAY)
        })
        yield* insert(record)
        expect(Option.getOrThrow(yield* repository.findByHash(record.hash))).toEqual(record)
        expect(Option.getOrThrow(yield* repository.findById(teamId, record.id))).toEqual(record)
        expect(Option.isNone(yield* repository.findById(uid("team"), record.id))).toBe(true)
        expect(Option.isNone(yield* repository.findByHash("0".repeat(64)))).toBe(true)
        expect(yield* repository.isEmpty).toBe(false)
      })
    )

    it.effect("keeps SQL metacharacters and unicode verbatim in every string field", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const hostile = `'); DROP TABLE keys; -- \\ " $1 %s \u{1F511} ünïcödé`
        const record = makeRecord({
          teamId: `${uid("team")}'--`,
          name: hostile,
          scopes: ["a'b", 'c"d'],
          resources: ["x'); --", "ünï.example"],
          metadata: { [hostile]: hostile, "'": ["\\", null, true, 1.5] }
        })
        yield* insert(record)
        expect(Option.getOrThrow(yield* repository.findById(record.teamId, record.id))).toEqual(record)
      })
    )

    it.effect("lists newest first with keyset pagination", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const records = Array.from({ length: 25 }, (_, i) => makeRecord({ teamId, createdAt: at(i * 1000) }))
        // Two keys created in the same millisecond still page in a stable order.
        records.push(makeRecord({ teamId, createdAt: at(24 * 1000) }))
        yield* Effect.forEach(records, insert)
        const seen: Array<string> = []
        let after: { at: Date; id: string } | undefined
        const pages: Array<number> = []
        for (;;) {
          const page = yield* repository.list({ teamId, now: at(HOUR), limit: 10, after })
          pages.push(page.items.length)
          seen.push(...page.items.map((record) => record.id))
          const last = page.items.at(-1)
          if (!page.hasMore || last === undefined) break
          after = { at: last.createdAt, id: last.id }
        }
        expect(pages).toEqual([10, 10, 6])
        const expected = [...records]
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
          .map((record) => record.id)
        expect(seen).toEqual(expected)
      })
    )

    it.effect("filters by status, environment and expiry window", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const now = at(10 * DAY)
        const active = makeRecord({ teamId, name: "active", createdAt: at(1) })
        const expiringSoon = makeRecord({
          teamId,
          name: "soon",
          createdAt: at(2),
          expiresAt: at(10 * DAY + HOUR)
        })
        const expiringLater = makeRecord({ teamId, name: "later", createdAt: at(3), expiresAt: at(20 * DAY) })
        const expired = makeRecord({ teamId, name: "expired", createdAt: at(4), expiresAt: at(10 * DAY) })
        const revoked = makeRecord({
          teamId,
          name: "revoked",
          createdAt: at(5),
          revokedAt: at(6),
          expiresAt: at(10 * DAY + HOUR)
        })
        const test = makeRecord({
          teamId,
          name: "test",
          createdAt: at(6),
          environment: "test",
          prefix: "sk_test_"
        })
        yield* Effect.forEach([active, expiringSoon, expiringLater, expired, revoked, test], insert)
        const names = (query: Partial<Parameters<KeyRepository["Type"]["list"]>[0]>) =>
          repository
            .list({ teamId, now, limit: 100, ...query })
            .pipe(Effect.map((page) => page.items.map((record) => record.name)))
        expect(yield* names({})).toEqual(["test", "revoked", "expired", "later", "soon", "active"])
        expect(yield* names({ status: "active" })).toEqual(["test", "later", "soon", "active"])
        expect(yield* names({ status: "expired" })).toEqual(["expired"])
        expect(yield* names({ status: "revoked" })).toEqual(["revoked"])
        expect(yield* names({ environment: "test" })).toEqual(["test"])
        expect(yield* names({ expiringBefore: at(11 * DAY) })).toEqual(["soon"])
        expect(yield* names({ expiringBefore: at(30 * DAY), environment: "live" })).toEqual(["later", "soon"])
      })
    )

    it.effect("updates the given fields within the team and writes the audit event", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const record = makeRecord({ teamId: uid("team"), scopes: ["send"] })
        yield* insert(record)
        const updated = yield* repository.update(
          record.teamId,
          record.id,
          { name: "Renamed", scopes: null, expiresAt: at(DAY), metadata: { a: 1 } },
          auditFor(record, "key.updated", at(10))
        )
        expect(Option.getOrThrow(updated)).toEqual({
          ...record,
          name: "Renamed",
          scopes: null,
          expiresAt: at(DAY),
          metadata: { a: 1 }
        })
        const elsewhere = yield* repository.update(
          uid("team"),
          record.id,
          { name: "x" },
          auditFor(record, "key.updated", at(11))
        )
        expect(Option.isNone(elsewhere)).toBe(true)
        const audit = yield* repository.listAudit({ teamId: record.teamId, keyId: record.id, limit: 10 })
        expect(audit.items.map((event) => event.action)).toEqual(["key.updated", "key.created"])
        expect(audit.items[0]!.changes).toEqual({ note: "suite" })
        expect(audit.items[0]!.actorKeyId).toBe("key_actor")
      })
    )

    it.effect("revokes idempotently: one change, one audit event", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const record = makeRecord({ teamId: uid("team") })
        yield* insert(record)
        const first = Option.getOrThrow(
          yield* repository.revoke(
            record.teamId,
            record.id,
            at(100),
            auditFor(record, "key.revoked", at(100))
          )
        )
        expect(first.changed).toBe(true)
        expect(first.key.revokedAt).toEqual(at(100))
        const second = Option.getOrThrow(
          yield* repository.revoke(
            record.teamId,
            record.id,
            at(200),
            auditFor(record, "key.revoked", at(200))
          )
        )
        expect(second.changed).toBe(false)
        expect(second.key.revokedAt).toEqual(at(100))
        expect(
          Option.isNone(
            yield* repository.revoke(
              uid("team"),
              record.id,
              at(300),
              auditFor(record, "key.revoked", at(300))
            )
          )
        ).toBe(true)
        const audit = yield* repository.listAudit({ teamId: record.teamId, keyId: record.id, limit: 10 })
        expect(audit.items.map((event) => event.action)).toEqual(["key.revoked", "key.created"])
      })
    )

    it.effect("rolls atomically: replacement stored, previous ended, only once", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const old = makeRecord({ teamId, expiresAt: at(30 * DAY) })
        yield* insert(old)
        const now = at(DAY)
        const replacement = makeRecord({
          teamId,
          createdAt: now,
          rolledFrom: old.id,
          expiresAt: old.expiresAt
        })
        const graceEnd = at(DAY + HOUR)
        const rolled = Option.getOrThrow(
          yield* repository.roll({
            teamId,
            id: old.id,
            now,
            replacement,
            previousEndsAt: graceEnd,
            audit: auditFor(old, "key.rolled", now)
          })
        )
        if (rolled._tag !== "Rolled") throw new Error("expected Rolled")
        expect(rolled.previous).toEqual({ ...old, expiresAt: graceEnd, replacedBy: replacement.id })
        expect(rolled.replacement).toEqual(replacement)
        expect(Option.getOrThrow(yield* repository.findByHash(replacement.hash))).toEqual(replacement)
        const again = Option.getOrThrow(
          yield* repository.roll({
            teamId,
            id: old.id,
            now,
            replacement: makeRecord({ teamId, createdAt: now }),
            previousEndsAt: now,
            audit: auditFor(old, "key.rolled", now)
          })
        )
        expect(again._tag).toBe("NotRollable")
        // A grace period longer than the remaining life never extends a key.
        const short = makeRecord({ teamId, expiresAt: at(DAY + 60_000) })
        yield* insert(short)
        const extended = Option.getOrThrow(
          yield* repository.roll({
            teamId,
            id: short.id,
            now,
            replacement: makeRecord({ teamId, createdAt: now }),
            previousEndsAt: at(2 * DAY),
            audit: auditFor(short, "key.rolled", now)
          })
        )
        if (extended._tag !== "Rolled") throw new Error("expected Rolled")
        expect(extended.previous.expiresAt).toEqual(at(DAY + 60_000))
        // Zero grace revokes at once.
        const immediate = makeRecord({ teamId })
        yield* insert(immediate)
        const revoked = Option.getOrThrow(
          yield* repository.roll({
            teamId,
            id: immediate.id,
            now,
            replacement: makeRecord({ teamId, createdAt: now }),
            previousEndsAt: now,
            audit: auditFor(immediate, "key.rolled", now)
          })
        )
        if (revoked._tag !== "Rolled") throw new Error("expected Rolled")
        expect(revoked.previous.revokedAt).toEqual(now)
        expect(
          Option.isNone(
            yield* repository.roll({
              teamId: uid("team"),
              id: old.id,
              now,
              replacement,
              previousEndsAt: now,
              audit: auditFor(old, "key.rolled", now)
            })
          )
        ).toBe(true)
      })
    )

    it.effect("applies usage batches: last use only moves forward, replayed counts are not added twice", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const a = makeRecord({ teamId })
        const b = makeRecord({ teamId })
        yield* Effect.forEach([a, b], insert)
        const batch = {
          id: uid("ub"),
          entries: [
            { keyId: a.id, lastUsedAt: at(5 * HOUR), count: 7 },
            { keyId: b.id, lastUsedAt: at(6 * HOUR), count: 3 },
            { keyId: "key_doesnotexist", lastUsedAt: at(6 * HOUR), count: 1 }
          ]
        }
        yield* repository.applyUsageBatches([batch])
        yield* repository.applyUsageBatches([batch])
        // Several batches in one call (one statement): a replayed one among them adds nothing.
        yield* repository.applyUsageBatches([
          batch,
          { id: uid("ub"), entries: [{ keyId: a.id, lastUsedAt: at(HOUR), count: 2 }] },
          { id: uid("ub"), entries: [{ keyId: b.id, lastUsedAt: at(2 * HOUR), count: 0 }] }
        ])
        const lastUsed = (id: string) =>
          Effect.map(repository.findById(teamId, id), (found) => Option.getOrThrow(found).lastUsedAt)
        expect(yield* lastUsed(a.id)).toEqual(at(5 * HOUR))
        expect(yield* lastUsed(b.id)).toEqual(at(6 * HOUR))
        expect(yield* repository.dailyUsage(teamId, a.id, 30)).toEqual([{ day: "2030-01-01", count: 9 }])
        expect(yield* repository.dailyUsage(teamId, b.id, 30)).toEqual([{ day: "2030-01-01", count: 3 }])
        expect(yield* repository.dailyUsage(uid("team"), b.id, 30)).toEqual([])
        yield* repository.applyUsageBatches([{ id: uid("ub"), entries: [] }])
        yield* repository.applyUsageBatches([])
      })
    )

    it.effect("forgets applied batch ids older than the retention, and only those", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        const key = makeRecord({ teamId })
        yield* insert(key)
        const batch = { id: uid("ub"), entries: [{ keyId: key.id, lastUsedAt: at(HOUR), count: 4 }] }
        const counted = Effect.map(repository.dailyUsage(teamId, key.id, 30), (days) => days[0]?.count ?? 0)
        yield* repository.applyUsageBatches([batch])

        // Applied just now: an hour's retention keeps it, so a replay still counts nothing.
        yield* repository.forgetUsageBatches(Duration.hours(1))
        yield* repository.applyUsageBatches([batch])
        expect(yield* counted).toBe(4)

        // Once past the retention it is forgotten; a replay after that would count again, which
        // is why the retention must outlast every retry.
        // Wall-clock time: the store's own clock judges the retention (TestClock would not move it).
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
        expect(yield* repository.forgetUsageBatches(Duration.millis(10))).toBeGreaterThanOrEqual(1)
        expect(yield* repository.forgetUsageBatches(Duration.millis(10))).toBe(0)
        yield* repository.applyUsageBatches([batch])
        expect(yield* counted).toBe(8)
      })
    )

    it.effect("claims each due (key, threshold) pair once, even when scans race", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const teamId = uid("team")
        // Expiry far from the other cases' times, so only this case's keys fall in the windows.
        const base = Date.parse("2041-06-01T00:00:00.000Z")
        const now = new Date(base)
        const records = Array.from({ length: 40 }, (_, i) =>
          makeRecord({ teamId, expiresAt: new Date(base + (i % 2 === 0 ? 12 * HOUR : 3 * DAY)) })
        )
        const revoked = makeRecord({ teamId, expiresAt: new Date(base + HOUR), revokedAt: at(0) })
        const never = makeRecord({ teamId })
        yield* Effect.forEach([...records, revoked, never], insert)
        const windows = Expiry.windows(
          now,
          ["7d", "1d", "0"].map((text) => (text === "0" ? 0 : text === "1d" ? DAY : 7 * DAY))
        )
        const [first, second] = yield* Effect.all(
          [
            repository.claimExpiryNotifications(windows, { scanId: uid("scan"), limit: 1000 }),
            repository.claimExpiryNotifications(windows, { scanId: uid("scan"), limit: 1000 })
          ],
          { concurrency: 2 }
        )
        const pairs = [...first, ...second].map((claim) => `${claim.key.id}/${claim.threshold}`)
        expect(new Set(pairs).size).toBe(pairs.length)
        expect(pairs.length).toBe(40)
        const thresholds = new Map([...first, ...second].map((claim) => [claim.key.id, claim.threshold]))
        expect(thresholds.get(records[0]!.id)).toBe("1d")
        expect(thresholds.get(records[1]!.id)).toBe("7d")
        expect(thresholds.has(revoked.id)).toBe(false)
        // One delivery per (team, threshold) of a scan.
        for (const scan of [first, second]) {
          const groups = new Map<string, Set<string>>()
          for (const claim of scan) {
            const group = `${claim.key.teamId}/${claim.threshold}`
            groups.set(group, (groups.get(group) ?? new Set()).add(claim.deliveryId))
          }
          for (const ids of groups.values()) expect(ids.size).toBe(1)
          expect(new Set(scan.map((claim) => claim.deliveryId)).size).toBe(groups.size)
        }
        expect(
          yield* repository.claimExpiryNotifications(windows, { scanId: uid("scan"), limit: 1000 })
        ).toEqual([])
        // Later, the keys cross the next threshold and are claimed for it.
        const later = Expiry.windows(new Date(base + 2 * DAY + HOUR), [7 * DAY, DAY, 0])
        const next = yield* repository.claimExpiryNotifications(later, { scanId: uid("scan"), limit: 1000 })
        expect(next.map((claim) => claim.threshold)).toEqual(Array.from({ length: 20 }, () => "1d"))
      })
    )

    it.effect("lists audit events newest first with pagination", () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository
        const record = makeRecord({ teamId: uid("team") })
        yield* insert(record)
        for (let i = 1; i <= 5; i++) {
          yield* repository.update(
            record.teamId,
            record.id,
            { name: `n${i}` },
            auditFor(record, "key.updated", at(i * 1000))
          )
        }
        const first = yield* repository.listAudit({ teamId: record.teamId, limit: 4 })
        expect(first.hasMore).toBe(true)
        const last = first.items.at(-1)!
        const second = yield* repository.listAudit({
          teamId: record.teamId,
          limit: 4,
          after: { at: last.at, id: last.id }
        })
        expect(second.hasMore).toBe(false)
        expect([...first.items, ...second.items].map((event) => event.at.getTime())).toEqual(
          [5, 4, 3, 2, 1, 0].map((i) => at(i * 1000).getTime())
        )
        expect((yield* repository.listAudit({ teamId: uid("team"), limit: 10 })).items).toEqual([])
      })
    )
  })
