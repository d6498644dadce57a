/**
 * The outcome of verifying a presented key, as data: a bad key is an answer, not a failure. The
 * checks run in the order of the design: team → revoked → expired → scopes → resource.
 */
import { Schema } from "effect"
import type { ApiKeyRecord } from "./ApiKey.js"
import {
  InsufficientScope,
  InvalidKey,
  KeyExpired,
  ResourceNotAllowed,
  type VerificationError
} from "./Errors.js"
import * as Scope from "./Scope.js"

export const VerificationCode = Schema.Literal(
  "valid",
  "invalid_api_key",
  "key_expired",
  "insufficient_scope",
  "resource_not_allowed"
).annotations({ identifier: "VerificationCode" })
export type VerificationCode = typeof VerificationCode.Type

export interface VerifyOptions {
  /** Scopes the caller needs; all must be held. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The resource the request names (e.g. a sending domain). */
  readonly resource?: string | undefined
  /** Only accept keys of this team; another team's key is answered as unknown. */
  readonly teamId?: string | undefined
}

export interface Verification {
  readonly valid: boolean
  readonly code: VerificationCode
  /** The key, when one was identified and may be shown (never for `invalid_api_key`). */
  readonly key?: ApiKeyRecord
  /** For `insufficient_scope`: the required scopes the key does not hold. */
  readonly requiredScopes?: ReadonlyArray<string>
  /** For `resource_not_allowed`: the resource that was refused. */
  readonly resource?: string
}

export const invalid: Verification = Object.freeze({ valid: false, code: "invalid_api_key" })

/** Checks a stored key against the request at `nowMillis`. Pure. */
export const decide = (
  record: ApiKeyRecord,
  nowMillis: number,
  options: VerifyOptions | undefined
): Verification => {
  if (options?.teamId !== undefined && record.teamId !== options.teamId) return invalid
  if (record.revokedAt !== null) return invalid
  if (record.expiresAt !== null && record.expiresAt.getTime() <= nowMillis) {
    return { valid: false, code: "key_expired", key: record }
  }
  if (options?.scopes !== undefined && options.scopes.length > 0) {
    const absent = Scope.missing(record.scopes, options.scopes)
    if (absent.length > 0)
      return { valid: false, code: "insufficient_scope", key: record, requiredScopes: absent }
  }
  if (
    options?.resource !== undefined &&
    record.resources !== null &&
    !record.resources.includes(options.resource)
  ) {
    return { valid: false, code: "resource_not_allowed", key: record, resource: options.resource }
  }
  return { valid: true, code: "valid", key: record }
}

/** The tagged error for a failed verification, for code that guards with failures. */
export const toError = (verification: Verification): VerificationError | undefined => {
  const keyId = verification.key?.id ?? ""
  switch (verification.code) {
    case "valid":
      return undefined
    case "invalid_api_key":
      return new InvalidKey({ message: "The API key is invalid, revoked or unknown." })
    case "key_expired":
      return new KeyExpired({ message: "The API key has expired.", keyId })
    case "insufficient_scope": {
      const requiredScopes = verification.requiredScopes ?? []
      return new InsufficientScope({
        message: `The API key lacks the required scope${requiredScopes.length === 1 ? "" : "s"}: ${requiredScopes.join(", ")}.`,
        keyId,
        requiredScopes
      })
    }
    case "resource_not_allowed":
      return new ResourceNotAllowed({
        message: "The API key is not allowed to act on this resource.",
        keyId,
        resource: verification.resource ?? ""
      })
  }
}
