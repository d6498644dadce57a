/**
 * Key authentication for any Effect HTTP service: a bearer-security `HttpApiMiddleware` that
 * verifies the caller's key and provides it as `CurrentKey`, and `requireScopes` / `requireResource`
 * for the checks an endpoint adds. Verification goes through the `KeyVerifier` port: in process
 * (`@keys/core`'s `ApiKeys`) or against a running keys API over HTTP.
 */
import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest } from "@effect/platform"
import { ApiKey, ApiKeys, Scope, type Verification } from "@keys/core"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import {
  InsufficientScope,
  InvalidApiKey,
  insufficientScopeMessage,
  KeyExpired,
  MissingApiKey,
  messages,
  RateLimited,
  ResourceNotAllowed,
  ServiceUnavailable
} from "./ApiErrors.js"

/** The verified key of the current request. */
export class CurrentKey extends Context.Tag("@keys/http/CurrentKey")<CurrentKey, ApiKey.VerifiedKey>() {}

export interface VerifyOutcome {
  readonly valid: boolean
  readonly code: Verification.VerificationCode | "rate_limited"
  readonly key?: ApiKey.VerifiedKey | undefined
  readonly requiredScopes?: ReadonlyArray<string> | undefined
}

/** Where verifications are answered. */
export class KeyVerifier extends Context.Tag("@keys/http/KeyVerifier")<
  KeyVerifier,
  {
    readonly verify: (
      token: Redacted.Redacted<string>,
      options?: Verification.VerifyOptions
    ) => Effect.Effect<VerifyOutcome, ServiceUnavailable>
  }
>() {}

/** Verifies in this process with `ApiKeys` (the "import the core into your service" way). */
export const layerInProcess: Layer.Layer<KeyVerifier, never, ApiKeys.ApiKeys> = Layer.effect(
  KeyVerifier,
  Effect.map(ApiKeys.ApiKeys, (keys) => ({
    verify: (token, options) =>
      keys.verify(token, options).pipe(
        Effect.map((result) => ({
          valid: result.valid,
          code: result.code,
          key: result.key === undefined ? undefined : ApiKey.toVerifiedKey(result.key),
          requiredScopes: result.requiredScopes
        })),
        Effect.mapError(() => new ServiceUnavailable({ message: messages.unavailable }))
      )
  }))
)

export class KeyAuth extends HttpApiMiddleware.Tag<KeyAuth>()("@keys/http/KeyAuth", {
  failure: Schema.Union(MissingApiKey, InvalidApiKey, KeyExpired, RateLimited, ServiceUnavailable),
  provides: CurrentKey,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** The middleware: any valid, unexpired key passes; endpoints add their scope checks. */
export const layer: Layer.Layer<KeyAuth, never, KeyVerifier> = Layer.effect(
  KeyAuth,
  Effect.map(KeyVerifier, (verifier) =>
    KeyAuth.of({
      bearer: (token) =>
        Effect.gen(function* () {
          // The platform strips the first 7 characters whatever the scheme: check it is Bearer.
          const request = yield* HttpServerRequest.HttpServerRequest
          const scheme = (request.headers.authorization ?? "").slice(0, 7).toLowerCase()
          const presented = Redacted.value(token).trim()
          if (scheme !== "bearer " || presented.length === 0) {
            return yield* new MissingApiKey({ message: messages.missing })
          }
          const outcome = yield* verifier.verify(Redacted.make(presented))
          if (outcome.valid && outcome.key !== undefined) return outcome.key
          switch (outcome.code) {
            case "key_expired":
              return yield* new KeyExpired({ message: messages.expired })
            case "rate_limited":
              return yield* new RateLimited({ message: messages.rateLimited })
            default:
              return yield* new InvalidApiKey({ message: messages.invalid })
          }
        })
    })
  )
)

/** Fails with `insufficient_scope` unless the current key holds every scope. */
export const requireScopes = (
  ...scopes: ReadonlyArray<string>
): Effect.Effect<ApiKey.VerifiedKey, InsufficientScope, CurrentKey> =>
  Effect.flatMap(CurrentKey, (key) => {
    const absent = Scope.missing(key.scopes, scopes)
    return absent.length === 0
      ? Effect.succeed(key)
      : Effect.fail(
          new InsufficientScope({ message: insufficientScopeMessage(absent), requiredScopes: absent })
        )
  })

/** Fails with `resource_not_allowed` when the current key is restricted and `resource` is outside it. */
export const requireResource = (
  resource: string
): Effect.Effect<ApiKey.VerifiedKey, ResourceNotAllowed, CurrentKey> =>
  Effect.flatMap(CurrentKey, (key) =>
    key.resources === null || key.resources.includes(resource)
      ? Effect.succeed(key)
      : Effect.fail(new ResourceNotAllowed({ message: messages.resource }))
  )
