/**
 * The `KeyRepository` in process memory: for tests, demos and platform teams' own tests. Follows
 * the same semantics as the Postgres adapter (the shared behaviour suite runs against both).
 */
import { Duration, Effect, Layer, Option } from "effect"
import type { ApiKeyRecord } from "../ApiKey.js"
import { statusAt } from "../ApiKey.js"
import type { AuditEvent } from "../AuditEvent.js"
import * as Cursor from "../Cursor.js"
import type { StoreUnavailable } from "../Errors.js"
import { DeliveryOutbox as DeliveryOutboxTag, type DeliveryOutbox } from "../DeliveryOutbox.js"
import { assignDeliveries, dueWindow } from "../Expiry.js"
import type { UsageBatch } from "../Usage.js"
import type { Invalidations } from "../Invalidations.js"
import { KeyRepository, type Page, type RollResult } from "../KeyRepository.js"

export type InMemoryKeyRepository = KeyRepository["Type"] & {
  /** The outbox of expiry deliveries, sharing this store's state. */
  readonly outbox: DeliveryOutbox["Type"]
  /** Everything stored, for assertions. */
  readonly inspect: {
    readonly records: () => ReadonlyArray<ApiKeyRecord>
    readonly audit: () => ReadonlyArray<AuditEvent>
    /** Calls of `applyUsageBatches` with at least one batch: the store's write statements. */
    readonly usageStatements: () => number
    readonly deadLetters: () => ReadonlyArray<{ readonly id: string; readonly reason: string }>
    readonly dailyCount: (keyId: string, day: string) => number
  }
}

export const make = (
  options: { readonly invalidations?: Invalidations["Type"] } = {}
): InMemoryKeyRepository => {
  const byId = new Map<string, ApiKeyRecord>()
  const idByHash = new Map<string, string>()
  const auditEvents: Array<AuditEvent> = []
  // Batch id → when it was applied (wall clock, as the database's `now()`).
  const appliedBatches = new Map<string, number>()
  const daily = new Map<string, number>()
  const claims = new Set<string>()
  let statementsApplied = 0
  const deliveries = new Map<
    string,
    {
      id: string
      teamId: string
      threshold: string
      keyIds: Array<string>
      createdAt: Date
      enqueuedAt: Date | null
      deliveredAt: Date | null
      deadAt: Date | null
      reason: string | null
    }
  >()

  const announce = (hash: string): Effect.Effect<void, StoreUnavailable> =>
    options.invalidations === undefined ? Effect.void : options.invalidations.publish(hash)

  const inTeam = (teamId: string, id: string): ApiKeyRecord | undefined => {
    const record = byId.get(id)
    return record !== undefined && record.teamId === teamId ? record : undefined
  }

  const page = <A extends { readonly id: string }>(
    items: ReadonlyArray<A>,
    positionOf: (item: A) => Cursor.Position,
    limit: number,
    after: Cursor.Position | undefined
  ): Page<A> => {
    const sorted = [...items]
      .filter((item) => after === undefined || Cursor.isBefore(after, positionOf(item)))
      .sort((a, b) => (Cursor.isBefore(positionOf(a), positionOf(b)) ? -1 : 1))
    return { items: sorted.slice(0, limit), hasMore: sorted.length > limit }
  }

  const applyOne = (batch: UsageBatch): void => {
    const firstTime = !appliedBatches.has(batch.id)
    if (firstTime) appliedBatches.set(batch.id, Date.now())
    for (const entry of batch.entries) {
      const record = byId.get(entry.keyId)
      if (record === undefined) continue
      if (record.lastUsedAt === null || entry.lastUsedAt > record.lastUsedAt) {
        byId.set(record.id, { ...record, lastUsedAt: entry.lastUsedAt })
      }
      if (firstTime) {
        const day = `${entry.keyId}/${entry.lastUsedAt.toISOString().slice(0, 10)}`
        daily.set(day, (daily.get(day) ?? 0) + entry.count)
      }
    }
  }

  const replace = (record: ApiKeyRecord): ApiKeyRecord => {
    byId.set(record.id, record)
    return record
  }

  const repository: KeyRepository["Type"] = {
    insert: (record, event) =>
      Effect.suspend(() => {
        byId.set(record.id, record)
        idByHash.set(record.hash, record.id)
        auditEvents.push(event)
        return announce(record.hash)
      }),
    findByHash: (hash) =>
      Effect.sync(() => {
        const id = idByHash.get(hash)
        return Option.fromNullable(id === undefined ? undefined : byId.get(id))
      }),
    findById: (teamId, id) => Effect.sync(() => Option.fromNullable(inTeam(teamId, id))),
    list: (query) =>
      Effect.sync(() => {
        const now = query.now.getTime()
        const matching = [...byId.values()].filter((record) => {
          if (record.teamId !== query.teamId) return false
          if (query.status !== undefined && statusAt(record, now) !== query.status) return false
          if (query.environment !== undefined && record.environment !== query.environment) return false
          if (query.expiringBefore !== undefined) {
            if (record.revokedAt !== null || record.expiresAt === null) return false
            const expiresAt = record.expiresAt.getTime()
            if (expiresAt <= now || expiresAt > query.expiringBefore.getTime()) return false
          }
          return true
        })
        return page(matching, (record) => ({ at: record.createdAt, id: record.id }), query.limit, query.after)
      }),
    update: (teamId, id, patch, event) =>
      Effect.suspend(() => {
        const record = inTeam(teamId, id)
        if (record === undefined) return Effect.succeed(Option.none())
        const updated = replace({ ...record, ...patch })
        auditEvents.push(event)
        return Effect.as(announce(updated.hash), Option.some(updated))
      }),
    revoke: (teamId, id, at, event) =>
      Effect.suspend(() => {
        const record = inTeam(teamId, id)
        if (record === undefined) return Effect.succeed(Option.none())
        if (record.revokedAt !== null) return Effect.succeed(Option.some({ key: record, changed: false }))
        const revoked = replace({ ...record, revokedAt: at })
        auditEvents.push(event)
        return Effect.as(announce(revoked.hash), Option.some({ key: revoked, changed: true }))
      }),
    roll: (request) =>
      Effect.suspend((): Effect.Effect<Option.Option<RollResult>, StoreUnavailable> => {
        const record = inTeam(request.teamId, request.id)
        if (record === undefined) return Effect.succeed(Option.none())
        if (statusAt(record, request.now.getTime()) !== "active" || record.replacedBy !== null) {
          return Effect.succeed(Option.some({ _tag: "NotRollable" as const, key: record }))
        }
        const endsNow = request.previousEndsAt.getTime() <= request.now.getTime()
        const previous = replace({
          ...record,
          replacedBy: request.replacement.id,
          ...(endsNow
            ? { revokedAt: request.now }
            : {
                expiresAt:
                  record.expiresAt !== null && record.expiresAt < request.previousEndsAt
                    ? record.expiresAt
                    : request.previousEndsAt
              })
        })
        byId.set(request.replacement.id, request.replacement)
        idByHash.set(request.replacement.hash, request.replacement.id)
        auditEvents.push(request.audit)
        return Effect.as(
          Effect.zipRight(announce(previous.hash), announce(request.replacement.hash)),
          Option.some({ _tag: "Rolled" as const, previous, replacement: request.replacement })
        )
      }),
    applyUsageBatches: (batches) =>
      Effect.sync(() => {
        if (batches.length > 0) statementsApplied++
        for (const batch of batches) applyOne(batch)
      }),
    forgetUsageBatches: (retention) =>
      Effect.sync(() => {
        const cutoff = Date.now() - Duration.toMillis(retention)
        let forgotten = 0
        for (const [id, appliedAt] of appliedBatches) {
          if (appliedAt >= cutoff) continue
          appliedBatches.delete(id)
          forgotten++
        }
        return forgotten
      }),
    claimExpiryNotifications: (windows, { scanId, limit }) =>
      Effect.sync(() => {
        const due: Array<{ key: ApiKeyRecord; threshold: string }> = []
        for (const record of byId.values()) {
          if (due.length >= limit) break
          const window = dueWindow(record, windows)
          if (window === undefined) continue
          const id = `${record.id}/${window.threshold}`
          if (claims.has(id)) continue
          claims.add(id)
          due.push({ key: record, threshold: window.threshold })
        }
        const claimed = assignDeliveries(scanId, due)
        for (const claim of claimed) {
          const delivery = deliveries.get(claim.deliveryId)
          if (delivery !== undefined) delivery.keyIds.push(claim.key.id)
          else {
            deliveries.set(claim.deliveryId, {
              id: claim.deliveryId,
              teamId: claim.key.teamId,
              threshold: claim.threshold,
              keyIds: [claim.key.id],
              createdAt: new Date(),
              enqueuedAt: null,
              deliveredAt: null,
              deadAt: null,
              reason: null
            })
          }
        }
        return claimed
      }),
    dailyUsage: (teamId, keyId, days) =>
      Effect.sync(() => {
        if (inTeam(teamId, keyId) === undefined) return []
        return [...daily]
          .filter(([id]) => id.startsWith(`${keyId}/`))
          .map(([id, count]) => ({ day: id.slice(keyId.length + 1), count }))
          .sort((a, b) => (a.day < b.day ? 1 : -1))
          .slice(0, days)
      }),
    listAudit: (query) =>
      Effect.sync(() =>
        page(
          auditEvents.filter(
            (event) =>
              event.teamId === query.teamId && (query.keyId === undefined || event.keyId === query.keyId)
          ),
          (event) => ({ at: event.at, id: event.id }),
          query.limit,
          query.after
        )
      ),
    isEmpty: Effect.sync(() => byId.size === 0)
  }

  return {
    ...repository,
    inspect: {
      records: () => [...byId.values()],
      audit: () => [...auditEvents],
      usageStatements: () => statementsApplied,
      dailyCount: (keyId, day) => daily.get(`${keyId}/${day}`) ?? 0,
      deadLetters: () =>
        [...deliveries.values()].flatMap((delivery) =>
          delivery.deadAt === null ? [] : [{ id: delivery.id, reason: delivery.reason ?? "" }]
        )
    },
    outbox: {
      pending: (limit) =>
        Effect.sync(() =>
          [...deliveries.values()]
            .filter(
              (delivery) =>
                delivery.enqueuedAt === null && delivery.deliveredAt === null && delivery.deadAt === null
            )
            .slice(0, limit)
            .map(({ id, teamId, threshold }) => ({ id, teamId, threshold }))
        ),
      markEnqueued: (ids, at) =>
        Effect.sync(() => {
          for (const id of ids) {
            const delivery = deliveries.get(id)
            if (delivery !== undefined) delivery.enqueuedAt = at
          }
        }),
      load: (id) =>
        Effect.sync(() => {
          const delivery = deliveries.get(id)
          if (delivery === undefined) return Option.none()
          return Option.some({
            id: delivery.id,
            teamId: delivery.teamId,
            threshold: delivery.threshold,
            keys: delivery.keyIds.flatMap((keyId) => {
              const record = byId.get(keyId)
              return record === undefined ? [] : [record]
            }),
            createdAt: delivery.createdAt,
            deliveredAt: delivery.deliveredAt,
            deadAt: delivery.deadAt
          })
        }),
      markDelivered: (id, at) =>
        Effect.sync(() => {
          const delivery = deliveries.get(id)
          if (delivery !== undefined && delivery.deliveredAt === null) delivery.deliveredAt = at
        }),
      markDead: (id, at, reason) =>
        Effect.sync(() => {
          const delivery = deliveries.get(id)
          if (delivery !== undefined && delivery.deadAt === null) {
            delivery.deadAt = at
            delivery.reason = reason
          }
        })
    }
  }
}

export const layer: Layer.Layer<KeyRepository> = Layer.sync(KeyRepository, () => make())

/** The repository and its outbox, sharing one state. */
export const layerWithOutbox = (
  repository: InMemoryKeyRepository = make()
): Layer.Layer<KeyRepository | DeliveryOutboxTag> =>
  Layer.merge(Layer.succeed(KeyRepository, repository), Layer.succeed(DeliveryOutboxTag, repository.outbox))
