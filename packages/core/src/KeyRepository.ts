/**
 * The storage port: keys, their audit trail, usage and expiry claims. Every mutating method is
 * atomic with its audit event and announces the change to other instances (see `Invalidations`).
 */
import { Context, type Duration, type Effect, type Option } from "effect"
import type { ApiKeyRecord, Environment, KeyStatus, Metadata } from "./ApiKey.js"
import type { AuditEvent } from "./AuditEvent.js"
import type { Position } from "./Cursor.js"
import type { StoreUnavailable } from "./Errors.js"
import type { ExpiryClaim, ExpiryWindow } from "./Expiry.js"
import type { UsageBatch } from "./Usage.js"

export interface ListKeysQuery {
  readonly teamId: string
  readonly now: Date
  readonly status?: KeyStatus | undefined
  readonly environment?: Environment | undefined
  /** Only keys not revoked that expire in (now, expiringBefore]. */
  readonly expiringBefore?: Date | undefined
  readonly limit: number
  /** Items strictly after this position (newest first). */
  readonly after?: Position | undefined
}

export interface ListAuditQuery {
  readonly teamId: string
  readonly keyId?: string | undefined
  readonly limit: number
  readonly after?: Position | undefined
}

export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** Whether more items follow the last one. */
  readonly hasMore: boolean
}

export interface DailyUsage {
  /** `YYYY-MM-DD`, UTC. */
  readonly day: string
  readonly count: number
}

export interface KeyPatch {
  readonly name?: string
  readonly scopes?: ReadonlyArray<string> | null
  readonly resources?: ReadonlyArray<string> | null
  readonly expiresAt?: Date | null
  readonly metadata?: Metadata | null
}

export interface RevokeResult {
  readonly key: ApiKeyRecord
  /** False when the key was already revoked: nothing was written. */
  readonly changed: boolean
}

export type RollResult =
  | { readonly _tag: "Rolled"; readonly previous: ApiKeyRecord; readonly replacement: ApiKeyRecord }
  /** The key exists but is revoked, expired or already rolled. */
  | { readonly _tag: "NotRollable"; readonly key: ApiKeyRecord }

export interface RollRequest {
  readonly teamId: string
  readonly id: string
  readonly now: Date
  readonly replacement: ApiKeyRecord
  /** When the previous key stops working; `now` revokes it at once. */
  readonly previousEndsAt: Date
  readonly audit: AuditEvent
}

export class KeyRepository extends Context.Tag("@keys/core/KeyRepository")<
  KeyRepository,
  {
    readonly insert: (record: ApiKeyRecord, audit: AuditEvent) => Effect.Effect<void, StoreUnavailable>
    readonly findByHash: (hash: string) => Effect.Effect<Option.Option<ApiKeyRecord>, StoreUnavailable>
    readonly findById: (
      teamId: string,
      id: string
    ) => Effect.Effect<Option.Option<ApiKeyRecord>, StoreUnavailable>
    readonly list: (query: ListKeysQuery) => Effect.Effect<Page<ApiKeyRecord>, StoreUnavailable>
    readonly update: (
      teamId: string,
      id: string,
      patch: KeyPatch,
      audit: AuditEvent
    ) => Effect.Effect<Option.Option<ApiKeyRecord>, StoreUnavailable>
    /** Idempotent: revoking a revoked key changes nothing and writes no audit event. */
    readonly revoke: (
      teamId: string,
      id: string,
      at: Date,
      audit: AuditEvent
    ) => Effect.Effect<Option.Option<RevokeResult>, StoreUnavailable>
    /** Inserts the replacement and ends the previous key in one transaction. */
    readonly roll: (request: RollRequest) => Effect.Effect<Option.Option<RollResult>, StoreUnavailable>
    /**
     * Applies usage batches at once (one statement for all of them): `lastUsedAt` only moves
     * forward, and a batch id already applied adds no counts again.
     */
    readonly applyUsageBatches: (batches: ReadonlyArray<UsageBatch>) => Effect.Effect<void, StoreUnavailable>
    /**
     * Forgets the ids of batches applied more than `retention` ago by the store's own clock (the
     * replay guard needs them only while a retry could bring them back); answers how many.
     */
    readonly forgetUsageBatches: (retention: Duration.Duration) => Effect.Effect<number, StoreUnavailable>
    /**
     * Claims the (key, threshold) pairs due in `windows` that no scan has claimed before, and records
     * one pending delivery per (team, threshold) of this scan, atomically: concurrent scans never
     * claim the same pair, and no claimed pair exists without its delivery.
     */
    readonly claimExpiryNotifications: (
      windows: ReadonlyArray<ExpiryWindow>,
      options: { readonly scanId: string; readonly limit: number }
    ) => Effect.Effect<ReadonlyArray<ExpiryClaim>, StoreUnavailable>
    /** Verifications per UTC day for one key of a team, newest day first. */
    readonly dailyUsage: (
      teamId: string,
      keyId: string,
      days: number
    ) => Effect.Effect<ReadonlyArray<DailyUsage>, StoreUnavailable>
    readonly listAudit: (query: ListAuditQuery) => Effect.Effect<Page<AuditEvent>, StoreUnavailable>
    /** Whether the store holds no key at all (first start). */
    readonly isEmpty: Effect.Effect<boolean, StoreUnavailable>
  }
>() {}
