/**
 * Domain failures, named noun + problem, with no HTTP knowledge: `@keys/http` maps each to its
 * status and code in one place. Messages never contain a plaintext key.
 */
import { ParseResult, Schema } from "effect"
import { redactSecrets } from "./Redaction.js"

/** No key was presented. */
export class MissingKey extends Schema.TaggedError<MissingKey>()("MissingKey", {
  message: Schema.String
}) {}

/** Malformed, unknown, revoked or deleted key, or one of another team. */
export class InvalidKey extends Schema.TaggedError<InvalidKey>()("InvalidKey", {
  message: Schema.String
}) {}

export class KeyExpired extends Schema.TaggedError<KeyExpired>()("KeyExpired", {
  message: Schema.String,
  keyId: Schema.String
}) {}

export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()("InsufficientScope", {
  message: Schema.String,
  keyId: Schema.String,
  requiredScopes: Schema.Array(Schema.String)
}) {}

export class ResourceNotAllowed extends Schema.TaggedError<ResourceNotAllowed>()("ResourceNotAllowed", {
  message: Schema.String,
  keyId: Schema.String,
  resource: Schema.String
}) {}

/** No such key in the caller's team (existence in another team is never revealed). */
export class KeyNotFound extends Schema.TaggedError<KeyNotFound>()("KeyNotFound", {
  message: Schema.String,
  keyId: Schema.String
}) {}

/** Input a caller can correct; `field` names what was wrong. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  message: Schema.String,
  field: Schema.String
}) {}

/** The store could not answer (connection lost, timeout). The cause is for logs only. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** A usage batch could not be handed over; the aggregator keeps it and retries. */
export class UsageSinkUnavailable extends Schema.TaggedError<UsageSinkUnavailable>()("UsageSinkUnavailable", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** A notification could not be delivered; the caller retries with backoff. */
export class NotificationFailed extends Schema.TaggedError<NotificationFailed>()("NotificationFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** The failures a verification can end in, when it is used as a guard rather than as data. */
export type VerificationError = MissingKey | InvalidKey | KeyExpired | InsufficientScope | ResourceNotAllowed

/**
 * The first problem of a schema failure as an `InvalidInput` naming its field (`scopes.2`), with a
 * message that quotes no more of the input than the schema's own text does.
 */
export const invalidInputFromParseError = (error: ParseResult.ParseError, fieldPrefix = ""): InvalidInput => {
  let issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>
  try {
    issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  } catch {
    // Formatting recurses into the input; a hostile input must not take the error path down too.
    issues = []
  }
  const first = issues[0]
  const path = first === undefined ? "" : first.path.map(String).join(".")
  const field = [fieldPrefix, path].filter((part) => part.length > 0).join(".") || "body"
  const message = first === undefined ? "is invalid" : redactSecrets(first.message)
  return new InvalidInput({ field, message: `${field}: ${message}` })
}
