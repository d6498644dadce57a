import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpServer
} from "@effect/platform"
import { ApiKeys } from "@keys/core"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { ApiErrors, KeyAuth } from "../src/index.js"
import { DOMAIN, type Seeded, seed, TEAM } from "./fixtures.js"

// A platform team's own service: sending needs scope `send` and a key allowed on the domain.
const domain = HttpApiSchema.param("domain", Schema.String)

class EmailsGroup extends HttpApiGroup.make("emails")
  .add(
    HttpApiEndpoint.post("send")`/domains/${domain}/emails`
      .addSuccess(Schema.Struct({ keyId: Schema.String, teamId: Schema.String }))
      .addError(ApiErrors.InsufficientScope)
      .addError(ApiErrors.ResourceNotAllowed)
  )
  .middleware(KeyAuth.KeyAuth) {}

class SendApi extends HttpApi.make("send").add(EmailsGroup) {}

const EmailsLive = HttpApiBuilder.group(SendApi, "emails", (handlers) =>
  handlers.handle("send", ({ path }) =>
    Effect.gen(function* () {
      yield* KeyAuth.requireScopes("send")
      yield* KeyAuth.requireResource(path.domain)
      const key = yield* KeyAuth.CurrentKey
      return { keyId: key.id, teamId: key.teamId }
    })
  )
)

let seeded: Seeded
let web: ReturnType<typeof HttpApiBuilder.toWebHandler>

beforeAll(async () => {
  seeded = await seed()
  const ApiLive = HttpApiBuilder.api(SendApi).pipe(
    Layer.provide(EmailsLive),
    Layer.provide(KeyAuth.layer),
    Layer.provide(KeyAuth.layerInProcess),
    Layer.provide(Layer.succeed(ApiKeys.ApiKeys, seeded.keys))
  )
  web = HttpApiBuilder.toWebHandler(Layer.merge(ApiLive, HttpServer.layerContext))
})

afterAll(async () => {
  await web?.dispose()
  await seeded?.runtime.dispose()
})

const send = async (options: { readonly token?: string; readonly domain?: string } = {}) => {
  const response = await web.handler(
    new Request(`http://service.test/domains/${options.domain ?? DOMAIN}/emails`, {
      method: "POST",
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
    })
  )
  const body = (await response.json()) as Record<string, unknown>
  return { status: response.status, contentType: response.headers.get("content-type"), body }
}

const expectContractError = (
  answer: Awaited<ReturnType<typeof send>>,
  status: number,
  code: ApiErrors.ErrorCode
) => {
  expect(answer.status).toBe(status)
  expect(answer.contentType).toContain("application/json")
  expect(answer.body.code).toBe(code)
  expect(typeof answer.body.message).toBe("string")
  expect((answer.body.message as string).length).toBeGreaterThan(0)
  for (const token of seeded.allTokens) expect(JSON.stringify(answer.body)).not.toContain(token)
}

describe("KeyAuth guarding an HttpApi service (in-process verification)", () => {
  it("answers 401 missing_api_key without an Authorization header", async () => {
    expectContractError(await send(), 401, "missing_api_key")
  })

  it("answers 401 missing_api_key for an empty bearer token", async () => {
    expectContractError(await send({ token: "" }), 401, "missing_api_key")
  })

  it("answers 401 invalid_api_key for a malformed, an unknown and a revoked key", async () => {
    expectContractError(await send({ token: "not-a-key" }), 401, "invalid_api_key")
    expectContractError(await send({ token: seeded.tokens.unknown }), 401, "invalid_api_key")
    expectContractError(await send({ token: seeded.tokens.revoked }), 401, "invalid_api_key")
  })

  it("answers 401 key_expired for an expired key", async () => {
    expectContractError(await send({ token: seeded.tokens.expired }), 401, "key_expired")
  })

  it("answers 403 insufficient_scope with requiredScopes when the key lacks the scope", async () => {
    const answer = await send({ token: seeded.tokens.reader })
    expectContractError(answer, 403, "insufficient_scope")
    expect(answer.body.requiredScopes).toEqual(["send"])
    expect(answer.body.message).toBe(ApiErrors.insufficientScopeMessage(["send"]))
  })

  it("answers 403 resource_not_allowed for a domain outside the key's list", async () => {
    expectContractError(
      await send({ token: seeded.tokens.sender, domain: "other.example" }),
      403,
      "resource_not_allowed"
    )
  })

  it("lets a valid key through with CurrentKey available to the handler", async () => {
    const answer = await send({ token: seeded.tokens.sender })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ keyId: seeded.tokens.senderId, teamId: TEAM })
  })
})
