/**
 * The errors the Promise facade throws. All extend `KeysError`, so `catch (e) { if (e instanceof
 * KeysError) … }` covers every failure of a call, and the subclasses tell apart what to do about it.
 */
import type * as ClientError from "./ClientError.js"

export type { ErrorCode } from "./ClientError.js"

/** What every error carries. */
export interface KeysErrorFields {
  readonly status: number
  readonly code: string
  readonly message: string
  readonly requestId?: string | undefined
}

/**
 * The base of every error of the SDK; thrown as such for server errors (5xx), network failures and
 * timeouts (`status` 0, `code` `network_error` or `timeout`) and answers it cannot read.
 */
export class KeysError extends Error {
  /** The HTTP status of the answer; 0 when no answer arrived. */
  readonly status: number
  /** The contract's error code (`invalid_api_key`, `insufficient_scope`, `not_found`, …). */
  readonly code: string
  /** The `X-Request-Id` of the answer, to find the call in the API's logs. */
  readonly requestId: string | undefined

  constructor(fields: KeysErrorFields, options?: { readonly cause?: unknown }) {
    super(fields.message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.status = fields.status
    this.code = fields.code
    this.requestId = fields.requestId
  }
}

/** 401 on the SDK's own key: missing, invalid, revoked or expired (`code` says which). */
export class AuthenticationError extends KeysError {}

/** 403 on the SDK's own key: it lacks `requiredScopes`, or the resource is outside its list. */
export class PermissionError extends KeysError {
  /** The scopes the key lacks (`insufficient_scope`); empty for `resource_not_allowed`. */
  readonly requiredScopes: ReadonlyArray<string>

  constructor(fields: KeysErrorFields & { readonly requiredScopes: ReadonlyArray<string> }) {
    super(fields)
    this.requiredScopes = fields.requiredScopes
  }
}

/** 404: no such key in the team the call acts on. */
export class NotFoundError extends KeysError {}

/** 400 or 413: the input was refused; `field` names what to fix. */
export class ValidationError extends KeysError {
  readonly field: string | undefined

  constructor(fields: KeysErrorFields & { readonly field?: string | undefined }) {
    super(fields)
    this.field = fields.field
  }
}

/** 429: too many requests; `retryAfter` is the wait in seconds the API asked for, when it did. */
export class RateLimitError extends KeysError {
  readonly retryAfter: number | undefined

  constructor(fields: KeysErrorFields & { readonly retryAfter?: number | undefined }) {
    super(fields)
    this.retryAfter = fields.retryAfter
  }
}

/** The Promise error for a failure of the Effect client. */
export const fromClientError = (error: ClientError.ClientError): KeysError => {
  const fields = {
    status: error.status,
    code: error.code,
    message: error.message,
    requestId: error.requestId
  }
  switch (error._tag) {
    case "AuthenticationError":
      return new AuthenticationError(fields)
    case "PermissionError":
      return new PermissionError({ ...fields, requiredScopes: error.requiredScopes })
    case "NotFoundError":
      return new NotFoundError(fields)
    case "ValidationError":
      return new ValidationError({ ...fields, field: error.field })
    case "RateLimitError":
      return new RateLimitError({ ...fields, retryAfter: error.retryAfter })
    case "KeysError":
      return new KeysError(fields)
  }
}
