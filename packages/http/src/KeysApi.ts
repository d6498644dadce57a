/**
 * The keys HTTP API (contract section 4) as one `HttpApi` definition: the server implements it,
 * the SDK derives its client from it, and the OpenAPI document is generated from it.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { ApiKey, AuditEvent, DurationText, Scope, Verification } from "@keys/core"
import { Schema } from "effect"
import {
  InsufficientScope,
  InvalidApiKey,
  KeyExpired,
  MissingApiKey,
  NotFound,
  RateLimited,
  ResourceNotAllowed,
  ServiceUnavailable,
  ValidationError
} from "./ApiErrors.js"
import { KeyAuth } from "./KeyAuth.js"

export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600

// Not a pattern: a malformed id is a key that does not exist (404), answered by the core.
const KeyId = Schema.String.pipe(Schema.maxLength(200)).annotations({
  identifier: "KeyId",
  examples: ["key_3xaQ9Lr2Wc8Tn1Pb"]
})

/** A key with its plaintext: only the create and roll responses carry `key`. */
export const CreatedKey = Schema.Struct({ ...ApiKey.ApiKey.fields, key: Schema.String }).annotations({
  identifier: "CreatedKey",
  description: "The new key; `key` is the plaintext, shown this once and never again."
})

export const KeyPage = Schema.Struct({
  data: Schema.Array(ApiKey.ApiKey),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "KeyPage" })

export const AuditPage = Schema.Struct({
  data: Schema.Array(AuditEvent.AuditEvent),
  nextCursor: Schema.NullOr(Schema.String)
}).annotations({ identifier: "AuditPage" })

const Limit = Schema.NumberFromString.pipe(
  Schema.int(),
  Schema.between(1, 100, { message: () => "must be an integer from 1 to 100" })
)

export const ListKeysParams = Schema.Struct({
  teamId: Schema.optional(ApiKey.TeamId),
  status: Schema.optional(ApiKey.KeyStatus),
  environment: Schema.optional(ApiKey.Environment),
  expiringWithin: Schema.optional(DurationText.DurationFromText),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})

export const RollRequest = Schema.Struct({
  gracePeriodSeconds: Schema.optional(
    Schema.Number.pipe(
      Schema.int(),
      Schema.between(0, MAX_GRACE_PERIOD_SECONDS, {
        message: () => "must be an integer from 0 to 2592000 (30 days)"
      })
    )
  )
}).annotations({ identifier: "RollRequest" })

export const VerifyRequest = Schema.Struct({
  key: Schema.String.pipe(Schema.maxLength(512)),
  scopes: Schema.optional(Schema.Array(Scope.Scope).pipe(Schema.maxItems(Scope.MAX_PER_KEY))),
  resource: Schema.optional(ApiKey.Resource)
}).annotations({ identifier: "VerifyRequest" })

export const VerifyCode = Schema.Union(Verification.VerificationCode, Schema.Literal("rate_limited"))

export const VerifyResponse = Schema.Struct({
  valid: Schema.Boolean,
  code: VerifyCode,
  /** The HTTP status a caller should answer its own client with. */
  status: Schema.Number,
  key: Schema.optional(ApiKey.VerifiedKey),
  requiredScopes: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "VerifyResponse" })
export type VerifyResponse = typeof VerifyResponse.Type

export const AuthParams = Schema.Struct({
  scopes: Schema.optional(Schema.String.pipe(Schema.maxLength(4096))),
  resource: Schema.optional(ApiKey.Resource)
})

export const ListAuditParams = Schema.Struct({
  keyId: Schema.optional(KeyId),
  teamId: Schema.optional(ApiKey.TeamId),
  limit: Schema.optional(Limit),
  cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
})

const idParam = HttpApiSchema.param("id", KeyId)
const TeamParam = Schema.Struct({ teamId: Schema.optional(ApiKey.TeamId) })

export class KeysGroup extends HttpApiGroup.make("keys")
  .add(
    HttpApiEndpoint.post("create", "/v1/keys")
      .setPayload(ApiKey.CreateKeyInput)
      .addSuccess(CreatedKey, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Creates a key (scope keys:write). The plaintext is in `key`, shown once."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/keys")
      .setUrlParams(ListKeysParams)
      .addSuccess(KeyPage)
      .annotate(OpenApi.Description, "Lists the team's keys newest first (scope keys:read).")
  )
  .add(HttpApiEndpoint.get("get")`/v1/keys/${idParam}`.setUrlParams(TeamParam).addSuccess(ApiKey.ApiKey))
  .add(
    HttpApiEndpoint.patch("update")`/v1/keys/${idParam}`
      .setUrlParams(TeamParam)
      .setPayload(ApiKey.UpdateKeyInput)
      .addSuccess(ApiKey.ApiKey)
  )
  .add(
    HttpApiEndpoint.del("revoke")`/v1/keys/${idParam}`
      .setUrlParams(TeamParam)
      .addSuccess(ApiKey.ApiKey)
      .annotate(OpenApi.Description, "Revokes the key everywhere at once; repeating it is a no-op.")
  )
  .add(
    HttpApiEndpoint.post("roll")`/v1/keys/${idParam}/roll`
      .setUrlParams(TeamParam)
      .setPayload(RollRequest)
      .addSuccess(CreatedKey, { status: 201 })
      .annotate(
        OpenApi.Description,
        "Issues a replacement with the same settings; the old key ends after the grace period."
      )
  )
  .addError(ValidationError)
  .addError(InsufficientScope)
  .addError(NotFound)
  .addError(ServiceUnavailable)
  .middleware(KeyAuth) {}

export class VerificationGroup extends HttpApiGroup.make("verification")
  .add(
    HttpApiEndpoint.post("verify", "/v1/keys/verify")
      .setPayload(VerifyRequest)
      .addSuccess(VerifyResponse)
      .addError(ValidationError)
      .addError(InsufficientScope)
      .addError(ServiceUnavailable)
      .middleware(KeyAuth)
      .annotate(
        OpenApi.Description,
        "Verifies a customer's key (scope keys:verify). Always 200: `valid`, `code` and `status` say the outcome."
      )
  )
  .add(
    HttpApiEndpoint.get("auth", "/v1/auth")
      .setUrlParams(AuthParams)
      .addSuccess(HttpApiSchema.Empty(200))
      .addError(MissingApiKey)
      .addError(InvalidApiKey)
      .addError(KeyExpired)
      .addError(InsufficientScope)
      .addError(ResourceNotAllowed)
      .addError(RateLimited)
      .addError(ServiceUnavailable)
      .annotate(
        OpenApi.Description,
        "Forward-auth for reverse proxies: checks the caller's own key; 200 with X-Key-Id, X-Team-Id, X-Key-Environment, X-Key-Scopes."
      )
  ) {}

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(HttpApiEndpoint.get("list", "/v1/audit").setUrlParams(ListAuditParams).addSuccess(AuditPage))
  .addError(ValidationError)
  .addError(InsufficientScope)
  .addError(NotFound)
  .addError(ServiceUnavailable)
  .middleware(KeyAuth) {}

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("healthz", "/healthz").addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ready") }))
      .addError(ServiceUnavailable)
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics").addSuccess(
      Schema.String.pipe(
        HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4" })
      )
    )
  ) {}

export class KeysApi extends HttpApi.make("keys")
  .add(KeysGroup)
  .add(VerificationGroup)
  .add(AuditGroup)
  .add(SystemGroup)
  .annotateContext(
    OpenApi.annotations({
      title: "keys",
      description: "Issue, verify and manage API keys.",
      version: "1.0.0"
    })
  ) {}
