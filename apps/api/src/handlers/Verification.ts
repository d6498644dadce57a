/**
 * The verification endpoints on the HttpApi stack. The lean path (`../LeanVerification.ts`) answers
 * them first; these remain for the OpenAPI document and as the reference the lean path must match.
 */
import { HttpApiBuilder } from "@effect/platform"
import { ApiKeys } from "@keys/core"
import { ApiErrors, KeyAuth, KeysApi } from "@keys/http"
import { Effect, Redacted } from "effect"
import { optionsFor, typedResponseOf } from "../Verify.js"

export const VerificationLive = HttpApiBuilder.group(KeysApi.KeysApi, "verification", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys.ApiKeys
    return (
      handlers
        .handle("verify", ({ payload }) =>
          Effect.gen(function* () {
            const root = yield* KeyAuth.requireScopes("keys:verify")
            const result = yield* keys
              .verify(Redacted.make(payload.key), optionsFor(root, payload))
              .pipe(Effect.mapError(ApiErrors.fromStoreUnavailable))
            return typedResponseOf(result)
          })
        )
        // Unreachable: the lean path answers GET /v1/auth before the HttpApi app sees it.
        .handle("auth", () => Effect.dieMessage("GET /v1/auth is served by the lean verification path"))
    )
  })
)
