/**
 * Retries, timeouts and odd answers, against stub servers on 127.0.0.1 that misbehave on purpose.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { KeysClient } from "../src/effect.js"
import { Keys, KeysError, RateLimitError } from "../src/index.js"

const API_KEY = "sk_live_stubStubStubStubStubStubStubStubStubStubStubStub"

const KEY_JSON = {
  id: "key_stub",
  teamId: "team_stub",
  name: "stub",
  start: "sk_live_stub",
  environment: "live",
  scopes: null,
  resources: null,
  metadata: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  status: "active"
}

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void

interface Stub {
  readonly url: string
  /** Requests seen so far, as `METHOD path`. */
  readonly requests: Array<string>
  readonly authorizations: Array<string | undefined>
}

const servers: Array<Server> = []

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})

/** A server whose `handler` sees each request with its 1-based number. */
const stub = async (handler: Handler): Promise<Stub> => {
  const requests: Array<string> = []
  const authorizations: Array<string | undefined> = []
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    authorizations.push(req.headers.authorization)
    req.resume()
    req.on("end", () => handler(req, res, requests.length))
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, requests, authorizations }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, {
    "content-type": "application/json",
    "x-request-id": `req_stub${status}`,
    ...headers
  })
  res.end(JSON.stringify(body))
}

const unavailable = (res: ServerResponse) =>
  json(res, 503, { code: "service_unavailable", message: "The key store is unavailable; try again shortly." })

/** Fails twice (a 503, then a dropped connection), then answers `body`. */
const flaky =
  (body: unknown, status = 200): Handler =>
  (_req, res, attempt) => {
    if (attempt === 1) return unavailable(res)
    if (attempt === 2) return res.socket?.destroy()
    json(res, status, body)
  }

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error
  )

describe("retries", () => {
  it("retries an idempotent call that fails twice, then succeeds", async () => {
    const server = await stub(flaky(KEY_JSON))
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url })
    expect(await keys.get("key_stub")).toEqual(KEY_JSON)
    expect(server.requests).toEqual(Array(3).fill("GET /v1/keys/key_stub"))
    expect(server.authorizations).toEqual(Array(3).fill(`Bearer ${API_KEY}`))
  })

  it("retries verify, list and revoke the same way", async () => {
    const verifyServer = await stub(flaky({ valid: false, code: "invalid_api_key", status: 401 }))
    const verifying = new Keys({ apiKey: API_KEY, baseUrl: verifyServer.url })
    expect(await verifying.verify("sk_live_x")).toEqual({
      valid: false,
      code: "invalid_api_key",
      status: 401
    })
    expect(verifyServer.requests).toHaveLength(3)

    const listServer = await stub(flaky({ data: [KEY_JSON], nextCursor: null }))
    const listing = new Keys({ apiKey: API_KEY, baseUrl: listServer.url })
    expect((await listing.list()).data).toEqual([KEY_JSON])
    expect(listServer.requests).toHaveLength(3)

    const revokeServer = await stub(flaky({ ...KEY_JSON, status: "revoked", revokedAt: KEY_JSON.createdAt }))
    const revoking = new Keys({ apiKey: API_KEY, baseUrl: revokeServer.url })
    expect((await revoking.revoke("key_stub")).status).toBe("revoked")
    expect(revokeServer.requests).toEqual(Array(3).fill("DELETE /v1/keys/key_stub"))
  })

  it("does not retry create, update or roll", async () => {
    const server = await stub((_req, res) =>
      json(res, 500, { code: "internal_error", message: "Something went wrong on our side." })
    )
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url })
    const calls = [
      () => keys.create({ name: "once" }),
      () => keys.update("key_stub", { name: "once" }),
      () => keys.roll("key_stub")
    ]
    for (const call of calls) {
      const error = await rejection(call())
      expect(error).toBeInstanceOf(KeysError)
      expect(error).toMatchObject({ status: 500, code: "internal_error", requestId: "req_stub500" })
    }
    expect(server.requests).toEqual([
      "POST /v1/keys",
      "PATCH /v1/keys/key_stub",
      "POST /v1/keys/key_stub/roll"
    ])
  })

  it("gives up after the configured retries with the last error", async () => {
    const server = await stub((_req, res) => unavailable(res))
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url, retries: 1 })
    const error = await rejection(keys.get("key_stub"))
    expect(error).toMatchObject({ name: "KeysError", status: 503, code: "service_unavailable" })
    expect(server.requests).toHaveLength(2)
  })

  it("does not retry a 429 and reports Retry-After", async () => {
    const server = await stub((_req, res) =>
      json(res, 429, { code: "rate_limited", message: "Too many requests." }, { "retry-after": "7" })
    )
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url })
    const error = await rejection(keys.list())
    expect(error).toBeInstanceOf(RateLimitError)
    expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 7 })
    expect(server.requests).toHaveLength(1)
  })

  it("retries in the Effect client too, and fails with a tagged KeysError", async () => {
    const server = await stub(flaky(KEY_JSON))
    const key = await Effect.runPromise(
      Effect.flatMap(KeysClient.KeysClient, (keys) => keys.get("key_stub")).pipe(
        Effect.provide(KeysClient.layer({ apiKey: API_KEY, baseUrl: server.url }))
      )
    )
    expect(key.createdAt).toEqual(new Date(KEY_JSON.createdAt))
    expect(server.requests).toHaveLength(3)

    const down = await stub((_req, res) => unavailable(res))
    const error = await Effect.runPromise(
      Effect.flip(Effect.flatMap(KeysClient.KeysClient, (keys) => keys.list())).pipe(
        Effect.provide(KeysClient.layer({ apiKey: API_KEY, baseUrl: down.url, retries: 0 }))
      )
    )
    expect(error).toMatchObject({ _tag: "KeysError", status: 503, code: "service_unavailable" })
    expect(down.requests).toHaveLength(1)
  })
})

describe("timeouts and unreachable servers", () => {
  it("times out each attempt against a server that never answers", async () => {
    const server = await stub(() => undefined)
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url, timeout: 200, retries: 1 })
    const error = await rejection(keys.get("key_stub"))
    expect(error).toBeInstanceOf(KeysError)
    expect(error).toMatchObject({ status: 0, code: "timeout", requestId: undefined })
    expect((error as Error).message).toContain(server.url)
    expect(server.requests).toHaveLength(2)

    const creating = new Keys({ apiKey: API_KEY, baseUrl: server.url, timeout: 200 })
    expect(await rejection(creating.create({ name: "slow" }))).toMatchObject({ code: "timeout" })
    expect(server.requests).toHaveLength(3)
  }, 10_000)

  it("reports a refused connection as a network error naming the address, never the key", async () => {
    const server = await stub(() => undefined)
    const url = server.url
    const closing = servers.pop()!
    await new Promise<void>((resolve) => closing.close(() => resolve()))
    const keys = new Keys({ apiKey: API_KEY, baseUrl: url, retries: 1 })
    const error = await rejection(keys.list())
    expect(error).toMatchObject({ name: "KeysError", status: 0, code: "network_error" })
    expect((error as Error).message).toContain(url)
    expect(JSON.stringify(error) + String(error) + (error as Error).stack).not.toContain(API_KEY)
  })

  it("reports an answer it cannot read as unexpected_response", async () => {
    const server = await stub((_req, res) => json(res, 200, { hello: "world" }))
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url })
    expect(await rejection(keys.get("key_stub"))).toMatchObject({ code: "unexpected_response" })
    expect(server.requests).toHaveLength(1)
  })

  it("maps an error answer without the contract's body by its status", async () => {
    const server = await stub((_req, res) => {
      res.writeHead(401, { "content-type": "text/plain" })
      res.end("nope")
    })
    const keys = new Keys({ apiKey: API_KEY, baseUrl: server.url })
    expect(await rejection(keys.list())).toMatchObject({
      name: "AuthenticationError",
      status: 401,
      code: "invalid_api_key"
    })
  })
})
