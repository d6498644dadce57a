/**
 * The keys API's JSON shapes (contract section 4) as the browser sees them: times are ISO-8601
 * strings. Plain interfaces, so embedding the components pulls in no runtime beyond React.
 */

export type Environment = "live" | "test"
export type KeyStatus = "active" | "expired" | "revoked"

export interface Key {
  readonly id: string
  readonly teamId: string
  readonly name: string
  /** The prefix plus the first four characters of the body: `sk_live_3xaQ`. */
  readonly start: string
  readonly environment: Environment
  /** `null`: unscoped (full access to the team's product scopes). */
  readonly scopes: ReadonlyArray<string> | null
  readonly resources: ReadonlyArray<string> | null
  readonly metadata: Readonly<Record<string, unknown>> | null
  readonly status: KeyStatus
  readonly createdAt: string
  readonly expiresAt: string | null
  readonly revokedAt: string | null
  readonly lastUsedAt: string | null
}

/** The answer to create and roll: the key and its plaintext, which no other answer carries. */
export interface CreatedKey extends Key {
  readonly key: string
}

export interface Page<A> {
  readonly data: ReadonlyArray<A>
  readonly nextCursor: string | null
}

export type AuditAction = "key.created" | "key.updated" | "key.revoked" | "key.rolled"

export interface AuditEvent {
  readonly id: string
  readonly teamId: string
  readonly keyId: string
  readonly action: AuditAction
  /** The key that made the change; null for changes made outside the API. */
  readonly actorKeyId: string | null
  readonly at: string
  readonly changes: Readonly<Record<string, unknown>>
}

export interface ListKeysParams {
  readonly status?: KeyStatus | undefined
  readonly environment?: Environment | undefined
  /** A duration such as `7d`: only keys expiring within it. */
  readonly expiringWithin?: string | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface ListAuditParams {
  readonly keyId?: string | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface CreateKeyInput {
  readonly name: string
  readonly environment?: Environment | undefined
  /** `null` or absent: full access. */
  readonly scopes?: ReadonlyArray<string> | null | undefined
  readonly resources?: ReadonlyArray<string> | null | undefined
  /** ISO-8601; `null` or absent: never expires. */
  readonly expiresAt?: string | null | undefined
  readonly metadata?: Readonly<Record<string, unknown>> | null | undefined
}

export interface RollOptions {
  /** 0: the old key stops at once; otherwise it keeps working this long. */
  readonly gracePeriodSeconds: number
}
