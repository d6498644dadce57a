/**
 * The error contract of the HTTP API, in one place: every failure answers `{code, message}` with the
 * status below, and every domain error maps to exactly one of these.
 */
import { HttpApiSchema } from "@effect/platform"
import { type Errors, Redaction, type Verification } from "@keys/core"
import { Schema } from "effect"

/** Status of every error code of the contract. */
export const statusOf = {
  validation_error: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  key_expired: 401,
  insufficient_scope: 403,
  resource_not_allowed: 403,
  not_found: 404,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503
} as const

export type ErrorCode = keyof typeof statusOf

const code = <C extends ErrorCode>(value: C) =>
  Schema.Literal(value).pipe(
    Schema.propertySignature,
    Schema.withConstructorDefault(() => value)
  )

export class ValidationError extends Schema.TaggedError<ValidationError>()(
  "ValidationError",
  { code: code("validation_error"), message: Schema.String, field: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({
    status: 400,
    description: "Bad JSON, wrong types, unknown scope, date in the past, limits exceeded"
  })
) {}

export class MissingApiKey extends Schema.TaggedError<MissingApiKey>()(
  "MissingApiKey",
  { code: code("missing_api_key"), message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()(
  "InvalidApiKey",
  { code: code("invalid_api_key"), message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class KeyExpired extends Schema.TaggedError<KeyExpired>()(
  "KeyExpired",
  { code: code("key_expired"), message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()(
  "InsufficientScope",
  { code: code("insufficient_scope"), message: Schema.String, requiredScopes: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 403 })
) {}

export class ResourceNotAllowed extends Schema.TaggedError<ResourceNotAllowed>()(
  "ResourceNotAllowed",
  { code: code("resource_not_allowed"), message: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { code: code("not_found"), message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

export class RateLimited extends Schema.TaggedError<RateLimited>()(
  "RateLimited",
  { code: code("rate_limited"), message: Schema.String },
  HttpApiSchema.annotations({ status: 429 })
) {}

export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  { code: code("internal_error"), message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
  "ServiceUnavailable",
  { code: code("service_unavailable"), message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** Failures of key authentication (the caller's own key). */
export type AuthenticationFailure =
  | MissingApiKey
  | InvalidApiKey
  | KeyExpired
  | InsufficientScope
  | ResourceNotAllowed

export const messages = {
  missing: "No API key: send it as Authorization: Bearer <key>.",
  invalid: "The API key is invalid, revoked or unknown.",
  expired: "The API key has expired.",
  resource: "The API key is not allowed to act on this resource.",
  rateLimited: "Too many requests for this API key; retry after the time in Retry-After.",
  unavailable: "The key store is unavailable; try again shortly.",
  internal: "Something went wrong on our side; the request id identifies it in our logs."
} as const

export const insufficientScopeMessage = (requiredScopes: ReadonlyArray<string>): string =>
  `The API key lacks the required scope${requiredScopes.length === 1 ? "" : "s"}: ${requiredScopes.join(", ")}.`

/** The contract's error for a failed verification (`undefined` when it is valid). */
export const fromVerification = (
  verification: Verification.Verification
): AuthenticationFailure | undefined => {
  switch (verification.code) {
    case "valid":
      return undefined
    case "invalid_api_key":
      return new InvalidApiKey({ message: messages.invalid })
    case "key_expired":
      return new KeyExpired({ message: messages.expired })
    case "insufficient_scope": {
      const requiredScopes = verification.requiredScopes ?? []
      return new InsufficientScope({ message: insufficientScopeMessage(requiredScopes), requiredScopes })
    }
    case "resource_not_allowed":
      return new ResourceNotAllowed({ message: messages.resource })
  }
}

export const fromInvalidInput = (error: Errors.InvalidInput): ValidationError =>
  new ValidationError({ message: Redaction.redactSecrets(error.message), field: error.field })

export const fromKeyNotFound = (error: Errors.KeyNotFound): NotFound =>
  new NotFound({ message: error.message })

export const fromStoreUnavailable = (_: Errors.StoreUnavailable): ServiceUnavailable =>
  new ServiceUnavailable({ message: messages.unavailable })

/** The JSON body of an error, for responses written outside the HttpApi pipeline. */
export const body = (code: ErrorCode, message: string, extra?: Record<string, unknown>): string =>
  JSON.stringify({ code, message, ...extra })
