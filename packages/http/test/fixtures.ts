/**
 * Real keys (from `@keys/core`'s in-memory `ApiKeys`) and a stub of the keys API's verify endpoint
 * on 127.0.0.1, port 0, for tests of the verifiers that call it over HTTP.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { ApiKey, ApiKeys, KeyRepository, Scope } from "@keys/core"
import { TestKeys } from "@keys/core/testing"
import { type Effect, ManagedRuntime, Redacted, Schema } from "effect"
import { ApiErrors, KeysApi } from "../src/index.js"

export const TEAM = "team_acme"
export const DOMAIN = "acme.example"

export interface Seeded {
  readonly runtime: ManagedRuntime.ManagedRuntime<ApiKeys.ApiKeys | KeyRepository.KeyRepository, never>
  readonly keys: ApiKeys.ApiKeys["Type"]
  /** Plaintext tokens, by role. */
  readonly tokens: {
    /** `keys:verify` + `admin`: what a platform's verifier uses. */
    readonly root: string
    /** Lacks `keys:verify`: the API refuses it. */
    readonly rootWithoutVerify: string
    /** Scope `send`, restricted to `DOMAIN`. */
    readonly sender: string
    readonly senderId: string
    /** Scope `read` only. */
    readonly reader: string
    readonly expired: string
    readonly revoked: string
    /** Well formed, never issued. */
    readonly unknown: string
  }
  /** Every token above, for "never in a message" assertions. */
  readonly allTokens: ReadonlyArray<string>
}

export const seed = async (): Promise<Seeded> => {
  const runtime = ManagedRuntime.make(TestKeys.layer())
  const keys = await runtime.runPromise(ApiKeys.ApiKeys)
  const repository = await runtime.runPromise(KeyRepository.KeyRepository)
  const create = (request: ApiKeys.CreateKeyRequest) => runtime.runPromise(keys.create(request))
  const root = await create({ teamId: "team_platform", name: "verifier", scopes: ["keys:verify", "admin"] })
  const rootWithoutVerify = await create({ teamId: "team_platform", name: "reader", scopes: ["keys:read"] })
  const sender = await create({ teamId: TEAM, name: "sender", scopes: ["send"], resources: [DOMAIN] })
  const reader = await create({ teamId: TEAM, name: "reader", scopes: ["read"] })
  const expired = await create({ teamId: TEAM, name: "expired", scopes: ["send"] })
  const revoked = await create({ teamId: TEAM, name: "revoked", scopes: ["send"] })
  // ApiKeys refuses a past expiry, so the store is changed underneath it (nothing is cached yet).
  await runtime.runPromise(
    repository.update(
      TEAM,
      expired.key.id,
      { expiresAt: new Date("2020-01-01T00:00:00Z") },
      {
        id: "evt_expire",
        teamId: TEAM,
        keyId: expired.key.id,
        action: "key.updated",
        actorKeyId: null,
        at: new Date("2020-01-01T00:00:00Z"),
        changes: {}
      }
    )
  )
  await runtime.runPromise(keys.revoke(TEAM, revoked.key.id))
  const tokens = {
    root: Redacted.value(root.secret),
    rootWithoutVerify: Redacted.value(rootWithoutVerify.secret),
    sender: Redacted.value(sender.secret),
    senderId: sender.key.id,
    reader: Redacted.value(reader.secret),
    expired: Redacted.value(expired.secret),
    revoked: Redacted.value(revoked.secret),
    unknown: `sk_live_${"A".repeat(48)}`
  }
  return {
    runtime,
    keys,
    tokens,
    allTokens: [
      tokens.root,
      tokens.rootWithoutVerify,
      tokens.sender,
      tokens.reader,
      tokens.expired,
      tokens.revoked
    ]
  }
}

export interface StubServer {
  readonly baseUrl: string
  /** Requests received so far. */
  readonly requests: () => number
  readonly close: () => Promise<void>
}

const listen = async (server: Server): Promise<StubServer> => {
  let requests = 0
  server.on("request", () => requests++)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

const send = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(body)
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      text += chunk
    })
    req.on("end", () => resolve(text))
    req.on("error", reject)
  })

const encodeResponse = Schema.encodeSync(KeysApi.VerifyResponse)
const decodeRequest = Schema.decodeUnknownEither(Schema.parseJson(KeysApi.VerifyRequest))

/**
 * `POST /v1/keys/verify` as the API answers it: the root bearer is verified for `keys:verify`
 * (401/403 otherwise), a root without `admin` only sees its own team, and the answer is always 200.
 */
export const startStubKeysApi = (seeded: Seeded): Promise<StubServer> => {
  const run = <A>(effect: Effect.Effect<A, unknown, ApiKeys.ApiKeys | KeyRepository.KeyRepository>) =>
    seeded.runtime.runPromise(effect)
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "POST" || req.url !== "/v1/keys/verify")
      return send(res, 404, ApiErrors.body("not_found", "No such route."))
    const authorization = req.headers.authorization ?? ""
    if (!authorization.startsWith("Bearer "))
      return send(res, 401, ApiErrors.body("missing_api_key", ApiErrors.messages.missing))
    const root = await run(
      seeded.keys.verify(Redacted.make(authorization.slice(7)), { scopes: [Scope.KEYS_VERIFY] })
    )
    if (!root.valid || root.key === undefined) {
      const error = ApiErrors.fromVerification(root)!
      return send(res, ApiErrors.statusOf[error.code], ApiErrors.body(error.code, error.message))
    }
    const request = decodeRequest(await readBody(req))
    if (request._tag === "Left")
      return send(res, 400, ApiErrors.body("validation_error", "The body is not a verify request."))
    const result = await run(
      seeded.keys.verify(Redacted.make(request.right.key), {
        scopes: request.right.scopes,
        resource: request.right.resource,
        teamId: Scope.holds(root.key.scopes, Scope.ADMIN) ? undefined : root.key.teamId
      })
    )
    send(
      res,
      200,
      JSON.stringify(
        encodeResponse({
          valid: result.valid,
          code: result.code,
          status: result.code === "valid" ? 200 : ApiErrors.statusOf[result.code],
          ...(result.key === undefined ? {} : { key: ApiKey.toVerifiedKey(result.key) }),
          ...(result.requiredScopes === undefined ? {} : { requiredScopes: result.requiredScopes })
        })
      )
    )
  }
  return listen(
    createServer((req, res) => {
      handle(req, res).catch(() => send(res, 500, ApiErrors.body("internal_error", "stub failed")))
    })
  )
}

/** Answers every request alike, for a keys API that misbehaves. */
export const startServerAnswering = (status: number, body: string): Promise<StubServer> =>
  listen(createServer((_req, res) => send(res, status, body)))

/** Accepts connections and never answers. */
export const startSilentServer = (): Promise<StubServer> => listen(createServer(() => {}))

/** An address where nothing listens (a server that was there and closed). */
export const closedBaseUrl = async (): Promise<string> => {
  const server = await listen(createServer())
  await server.close()
  return server.baseUrl
}
