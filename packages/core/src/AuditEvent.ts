/** What happened to a key, by whom and when: written atomically with the change itself. */
import { Schema } from "effect"

export const AuditAction = Schema.Literal("key.created", "key.updated", "key.revoked", "key.rolled")
export type AuditAction = typeof AuditAction.Type

export const AuditEvent = Schema.Struct({
  id: Schema.String,
  teamId: Schema.String,
  keyId: Schema.String,
  action: AuditAction,
  /** The key that made the change; null for changes made outside the API (bootstrap). */
  actorKeyId: Schema.NullOr(Schema.String),
  at: Schema.Date,
  /** The fields set by the change, never a secret or hash. */
  changes: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}).annotations({ identifier: "AuditEvent" })
export type AuditEvent = typeof AuditEvent.Type
