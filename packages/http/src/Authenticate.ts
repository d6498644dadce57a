/**
 * Key authentication for services that do not run Effect (node:http, Express, Fastify, Hono): one
 * promise per request that never rejects and answers either the verified key or the contract's
 * error with its body ready to send. No Node-only import: it runs wherever `fetch` does.
 */
import { FetchHttpClient } from "@effect/platform"
import type { ApiKey, Verification } from "@keys/core"
import { type Duration, Effect, Redacted } from "effect"
import * as ApiErrors from "./ApiErrors.js"
import type { VerifyOutcome } from "./KeyAuth.js"
import * as RemoteVerifier from "./RemoteVerifier.js"

/** A fetch `Headers` (or anything with its `get`). */
export interface HeadersLike {
  readonly get: (name: string) => string | null
}

/** Node's `IncomingHttpHeaders`, Fastify's `request.headers`, or a plain object. */
export type HeaderRecord = { readonly [name: string]: string | ReadonlyArray<string> | undefined }

/** A fetch `Request`, a Node `IncomingMessage` (Express `req`), or the headers themselves. */
export type RequestLike = { readonly headers: HeadersLike | HeaderRecord } | HeadersLike | HeaderRecord

export interface AuthenticateOptions {
  /** Scopes the route needs; the key must hold all of them. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The resource the request acts on (e.g. a sending domain), for keys restricted to a list. */
  readonly resource?: string | undefined
}

export type FailureCode =
  | "missing_api_key"
  | "invalid_api_key"
  | "key_expired"
  | "insufficient_scope"
  | "resource_not_allowed"
  | "rate_limited"
  | "service_unavailable"

export interface Authenticated {
  readonly ok: true
  readonly key: ApiKey.VerifiedKey
}

export interface Refused {
  readonly ok: false
  readonly status: (typeof ApiErrors.statusOf)[FailureCode]
  readonly code: FailureCode
  readonly message: string
  readonly requiredScopes?: ReadonlyArray<string>
  /** The contract's JSON error body: send it with `status` and `Content-Type: application/json`. */
  readonly body: string
}

export type AuthResult = Authenticated | Refused

export interface Authenticator {
  readonly authenticate: (request: RequestLike, options?: AuthenticateOptions) => Promise<AuthResult>
}

/** A verification of a presented token, outside Effect. A rejection answers 503. */
export type Verify = (
  token: string,
  options: AuthenticateOptions
) => VerifyOutcome | PromiseLike<VerifyOutcome>

const refusal = (code: FailureCode, message: string, requiredScopes?: ReadonlyArray<string>): Refused => {
  const extra = requiredScopes === undefined ? undefined : { requiredScopes }
  return {
    ok: false,
    status: ApiErrors.statusOf[code],
    code,
    message,
    ...extra,
    body: ApiErrors.body(code, message, extra)
  }
}

const missing = refusal("missing_api_key", ApiErrors.messages.missing)
const unavailable = refusal("service_unavailable", ApiErrors.messages.unavailable)

const isHeadersLike = (value: unknown): value is HeadersLike =>
  typeof value === "object" && value !== null && "get" in value && typeof value.get === "function"

const authorizationOf = (request: RequestLike): string | undefined => {
  if (typeof request !== "object" || request === null) return undefined
  const headers =
    "headers" in request && typeof request.headers === "object" && request.headers !== null
      ? request.headers
      : request
  if (isHeadersLike(headers)) return headers.get("authorization") ?? undefined
  const record = headers as HeaderRecord
  let value = record.authorization
  if (value === undefined) {
    for (const name of Object.keys(record)) {
      if (name.toLowerCase() === "authorization") {
        value = record[name]
        break
      }
    }
  }
  return typeof value === "string" ? value : value?.[0]
}

/** The token of `Authorization: Bearer <token>`, the scheme in any case; undefined when absent. */
export const bearerToken = (request: RequestLike): string | undefined => {
  const header = authorizationOf(request)?.trim()
  if (header === undefined || header.length < 8 || header.slice(0, 6).toLowerCase() !== "bearer")
    return undefined
  if (header[6] !== " " && header[6] !== "\t") return undefined
  const token = header.slice(7).trim()
  return token.length === 0 ? undefined : token
}

const resultOf = (outcome: VerifyOutcome): AuthResult => {
  if (outcome.code === "valid")
    return outcome.valid && outcome.key !== undefined ? { ok: true, key: outcome.key } : unavailable
  if (outcome.code === "rate_limited") return refusal("rate_limited", ApiErrors.messages.rateLimited)
  const verification: Verification.Verification = {
    valid: false,
    code: outcome.code,
    ...(outcome.requiredScopes === undefined ? {} : { requiredScopes: outcome.requiredScopes })
  }
  const error = ApiErrors.fromVerification(verification)
  if (error === undefined) return unavailable
  return refusal(
    error.code,
    error.message,
    error._tag === "InsufficientScope" ? error.requiredScopes : undefined
  )
}

/** Authenticates with any verification: in process, a cache of your own, a test double. */
export const fromVerifier = (verify: Verify): Authenticator => ({
  authenticate: async (request, options = {}) => {
    const token = bearerToken(request)
    if (token === undefined) return missing
    try {
      return resultOf(await verify(token, options))
    } catch {
      return unavailable
    }
  }
})

export interface RemoteOptions {
  /** The keys API, e.g. `https://keys.internal`. */
  readonly baseUrl: string
  /** A root key with `keys:verify`, plus `admin` to verify the keys of every team. */
  readonly apiKey: string | Redacted.Redacted<string>
  /** For each verification call. Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Authenticates against a running keys API. A refused root key is logged once (through Effect's
 * default logger) and answers 503, as does an API that is down or slower than `timeout`.
 */
export const remote = (options: RemoteOptions): Authenticator => {
  const verifier = Effect.runSync(
    RemoteVerifier.make({
      baseUrl: options.baseUrl,
      apiKey: Redacted.isRedacted(options.apiKey) ? options.apiKey : Redacted.make(options.apiKey),
      timeout: options.timeout
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
  return fromVerifier((token, verifyOptions) =>
    Effect.runPromise(verifier.verify(Redacted.make(token), verifyOptions))
  )
}
