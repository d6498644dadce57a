/**
 * The key model: the stored record (with its hash, never the plaintext) and the public `ApiKey`
 * view every API, SDK and CLI shows, whose `status` is derived from the clock and never stored.
 */
import { type Redacted, Schema } from "effect"
import { Scopes } from "./Scope.js"

export const Environment = Schema.Literal("live", "test").annotations({ identifier: "Environment" })
export type Environment = typeof Environment.Type

export const KeyStatus = Schema.Literal("active", "expired", "revoked").annotations({
  identifier: "KeyStatus"
})
export type KeyStatus = typeof KeyStatus.Type

export const MAX_NAME_LENGTH = 200
export const MAX_RESOURCES = 100
export const MAX_RESOURCE_LENGTH = 253
export const MAX_METADATA_KEYS = 50
export const MAX_METADATA_BYTES = 8_192
export const MAX_TEAM_ID_LENGTH = 128

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL = /[\u0000-\u001f\u007f]/

/** Text PostgreSQL can store: no lone UTF-16 surrogate (so valid UTF-8) and no NUL. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
export const isStorableText = (text: string): boolean =>
  !LONE_SURROGATE.test(text) && !text.includes("\u0000")

export const KeyName = Schema.String.pipe(
  Schema.filter((name) => {
    if (name.trim().length === 0) return "must not be empty"
    if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`
    if (CONTROL.test(name)) return "must not contain control characters"
    if (!isStorableText(name)) return "must be valid Unicode text"
    return true
  })
).annotations({ identifier: "KeyName", examples: ["Production"] })

export const TeamId = Schema.String.pipe(
  Schema.filter((teamId) => {
    if (teamId.length === 0) return "must not be empty"
    if (teamId.length > MAX_TEAM_ID_LENGTH) return `must be at most ${MAX_TEAM_ID_LENGTH} characters`
    if (CONTROL.test(teamId) || /\s/.test(teamId)) return "must not contain whitespace or control characters"
    if (!isStorableText(teamId)) return "must be valid Unicode text"
    return true
  })
).annotations({ identifier: "TeamId", examples: ["team_123"] })

/** Why `resource` cannot be a resource, or undefined when it can. */
export const resourceProblem = (resource: string): string | undefined => {
  if (resource.length === 0) return "must not be empty"
  if (resource.length > MAX_RESOURCE_LENGTH) return `must be at most ${MAX_RESOURCE_LENGTH} characters`
  if (CONTROL.test(resource) || /\s/.test(resource))
    return "must not contain whitespace or control characters"
  if (!isStorableText(resource)) return "must be valid Unicode text"
  return undefined
}

export const Resource = Schema.String.pipe(
  Schema.filter((resource) => resourceProblem(resource) ?? true)
).annotations({
  identifier: "Resource",
  examples: ["example.com"]
})

export const Resources = Schema.Array(Resource).pipe(
  Schema.maxItems(MAX_RESOURCES, { message: () => `at most ${MAX_RESOURCES} resources per key` })
)

export type Metadata = { readonly [key: string]: unknown }

export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })
  .pipe(
    Schema.filter((metadata) => {
      const entries = Object.keys(metadata)
      if (entries.length > MAX_METADATA_KEYS) return `must have at most ${MAX_METADATA_KEYS} keys`
      let json: string | undefined
      try {
        json = JSON.stringify(metadata)
      } catch {
        return "must be JSON"
      }
      if (json === undefined) return "must be JSON"
      // JSON.stringify escapes NUL as \u0000 and a lone surrogate as \udXXX: neither can be stored.
      if (/\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(json))
        return "must be valid Unicode text without NUL characters"
      if (new TextEncoder().encode(json).length > MAX_METADATA_BYTES) {
        return `must be at most ${MAX_METADATA_BYTES} bytes as JSON`
      }
      return true
    })
  )
  .annotations({ identifier: "Metadata" })

/** A key as stored: the hash stands in for the secret, which no record holds. */
export interface ApiKeyRecord {
  readonly id: string
  readonly teamId: string
  readonly name: string
  /** Lowercase hex SHA-256 of the whole token. */
  readonly hash: string
  readonly prefix: string
  readonly start: string
  readonly environment: Environment
  readonly scopes: ReadonlyArray<string> | null
  readonly resources: ReadonlyArray<string> | null
  readonly metadata: Metadata | null
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
  /** The key this one replaced by a roll, and the key that replaced it. */
  readonly rolledFrom: string | null
  readonly replacedBy: string | null
}

const keyFields = {
  id: Schema.String,
  teamId: Schema.String,
  name: Schema.String,
  start: Schema.String,
  environment: Environment,
  scopes: Schema.NullOr(Schema.Array(Schema.String)),
  resources: Schema.NullOr(Schema.Array(Schema.String)),
  metadata: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  createdAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date),
  revokedAt: Schema.NullOr(Schema.Date),
  lastUsedAt: Schema.NullOr(Schema.Date)
}

/** The public view of a key, as the verify result carries it (no status: the code says it). */
export const VerifiedKey = Schema.Struct(keyFields).annotations({ identifier: "VerifiedKey" })
export type VerifiedKey = typeof VerifiedKey.Type

/** The public view of a key: what every list, get and update returns. */
export const ApiKey = Schema.Struct({ ...keyFields, status: KeyStatus }).annotations({ identifier: "Key" })
export type ApiKey = typeof ApiKey.Type

/** Derived at read time from the clock: a key expires to the millisecond without a write. */
export const statusAt = (record: ApiKeyRecord, nowMillis: number): KeyStatus => {
  if (record.revokedAt !== null) return "revoked"
  if (record.expiresAt !== null && record.expiresAt.getTime() <= nowMillis) return "expired"
  return "active"
}

export const toVerifiedKey = (record: ApiKeyRecord): VerifiedKey => ({
  id: record.id,
  teamId: record.teamId,
  name: record.name,
  start: record.start,
  environment: record.environment,
  scopes: record.scopes,
  resources: record.resources,
  metadata: record.metadata,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  revokedAt: record.revokedAt,
  lastUsedAt: record.lastUsedAt
})

export const toApiKey = (record: ApiKeyRecord, nowMillis: number): ApiKey => ({
  ...toVerifiedKey(record),
  status: statusAt(record, nowMillis)
})

/** Input of `create`. */
export const CreateKeyInput = Schema.Struct({
  teamId: Schema.optional(TeamId),
  name: KeyName,
  environment: Schema.optional(Environment),
  scopes: Schema.optional(Schema.NullOr(Scopes)),
  resources: Schema.optional(Schema.NullOr(Resources)),
  expiresAt: Schema.optional(Schema.NullOr(Schema.Date)),
  metadata: Schema.optional(Schema.NullOr(Metadata))
}).annotations({ identifier: "CreateKeyInput" })
export type CreateKeyInput = typeof CreateKeyInput.Type

/** Input of `update`: only the fields given change; `null` clears a field. */
export const UpdateKeyInput = Schema.Struct({
  name: Schema.optional(KeyName),
  scopes: Schema.optional(Schema.NullOr(Scopes)),
  resources: Schema.optional(Schema.NullOr(Resources)),
  expiresAt: Schema.optional(Schema.NullOr(Schema.Date)),
  metadata: Schema.optional(Schema.NullOr(Metadata))
}).annotations({ identifier: "UpdateKeyInput" })
export type UpdateKeyInput = typeof UpdateKeyInput.Type

/** A key with its plaintext: only ever the answer to create or roll. */
export interface CreatedKey {
  readonly key: ApiKey
  /** The plaintext token, shown once; redacted so that logging the result cannot leak it. */
  readonly secret: Redacted.Redacted<string>
}
