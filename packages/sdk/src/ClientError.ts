/**
 * The failures of `KeysClient` (`@keys/sdk/effect`), one tagged error per way a caller reacts:
 * fix the client's own key (`AuthenticationError`), ask for more rights (`PermissionError`), fix the
 * input (`ValidationError`), wait (`RateLimitError`), or retry later (`KeysError`). Every one carries
 * the HTTP `status`, the contract's `code`, a `message` and the `requestId` of the answer.
 */
import { Schema } from "effect"

/**
 * The contract's error codes (section 3) plus the client's own: `network_error` and `timeout` (no
 * answer arrived, `status` 0) and `unexpected_response` (an answer the client cannot read).
 */
export type ErrorCode =
  | "validation_error"
  | "missing_api_key"
  | "invalid_api_key"
  | "key_expired"
  | "insufficient_scope"
  | "resource_not_allowed"
  | "not_found"
  | "payload_too_large"
  | "rate_limited"
  | "internal_error"
  | "service_unavailable"
  | "network_error"
  | "timeout"
  | "unexpected_response"
  | (string & {})

const common = {
  /** The HTTP status of the answer; 0 when none arrived (network failure, timeout). */
  status: Schema.Number,
  /** The contract's error code (`invalid_api_key`, `insufficient_scope`, …). */
  code: Schema.String,
  message: Schema.String,
  /** The `X-Request-Id` of the answer, for the API's logs; undefined when no answer arrived. */
  requestId: Schema.UndefinedOr(Schema.String)
}

/** 401 on the client's own key: missing, invalid, revoked or expired (`code` says which). */
export class AuthenticationError extends Schema.TaggedError<AuthenticationError>()(
  "AuthenticationError",
  common
) {}

/** 403 on the client's own key: a scope it lacks (`requiredScopes`) or a resource outside its list. */
export class PermissionError extends Schema.TaggedError<PermissionError>()("PermissionError", {
  ...common,
  /** The scopes the key lacks (`insufficient_scope`); empty for `resource_not_allowed`. */
  requiredScopes: Schema.Array(Schema.String)
}) {}

/** 404: no such key in the team the call acts on. */
export class NotFoundError extends Schema.TaggedError<NotFoundError>()("NotFoundError", common) {}

/** 400 (or 413): the input was refused; `field` names what to fix. Also raised before sending. */
export class ValidationError extends Schema.TaggedError<ValidationError>()("ValidationError", {
  ...common,
  field: Schema.UndefinedOr(Schema.String)
}) {}

/** 429: too many requests; `retryAfter` is the wait in seconds the API asked for, when it did. */
export class RateLimitError extends Schema.TaggedError<RateLimitError>()("RateLimitError", {
  ...common,
  retryAfter: Schema.UndefinedOr(Schema.Number)
}) {}

/**
 * Anything else: a server error (5xx), no answer (`network_error`, `timeout`, status 0) or an answer
 * the client cannot read (`unexpected_response`). Idempotent calls retry these before failing.
 */
export class KeysError extends Schema.TaggedError<KeysError>()("KeysError", common) {}

/** Every failure of a `KeysClient` call. */
export type ClientError =
  | AuthenticationError
  | PermissionError
  | NotFoundError
  | ValidationError
  | RateLimitError
  | KeysError

const TAGS: ReadonlySet<string> = new Set([
  "AuthenticationError",
  "PermissionError",
  "NotFoundError",
  "ValidationError",
  "RateLimitError",
  "KeysError"
])

/** Whether `u` is one of the failures above. */
export const isClientError = (u: unknown): u is ClientError =>
  typeof u === "object" && u !== null && "_tag" in u && TAGS.has((u as { _tag: string })._tag)

/** Whether retrying the same idempotent call may succeed: no answer, or a server error. */
export const isTransient = (error: ClientError): boolean =>
  error._tag === "KeysError" &&
  (error.status === 0 || error.status >= 500) &&
  error.code !== "unexpected_response"
