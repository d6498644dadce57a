import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import { ApiErrors, Authenticate } from "../src/index.js"
import {
  closedBaseUrl,
  DOMAIN,
  type Seeded,
  type StubServer,
  seed,
  startSilentServer,
  startStubKeysApi,
  TEAM
} from "./fixtures.js"

let seeded: Seeded
let api: StubServer
let silent: StubServer
let authenticator: Authenticate.Authenticator
let consoleLines: Array<ReadonlyArray<unknown>>

beforeAll(async () => {
  seeded = await seed()
  api = await startStubKeysApi(seeded)
  silent = await startSilentServer()
  authenticator = Authenticate.remote({ baseUrl: api.baseUrl, apiKey: seeded.tokens.root })
})

afterAll(async () => {
  await api?.close()
  await silent?.close()
  await seeded?.runtime.dispose()
})

// Effect's default logger writes through console.log: everything it prints is checked for tokens.
beforeEach(() => {
  consoleLines = []
  for (const method of ["log", "info", "warn", "error", "debug"] as const)
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
      consoleLines.push(args)
    })
})

afterEach(() => {
  expectNoToken(consoleLines)
  vi.restoreAllMocks()
})

const expectNoToken = (...values: ReadonlyArray<unknown>) => {
  const text = JSON.stringify(values)
  for (const secret of seeded.allTokens) expect(text).not.toContain(secret)
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

const expectRefused = (
  result: Authenticate.AuthResult,
  status: number,
  code: Authenticate.FailureCode
): Authenticate.Refused => {
  if (result.ok) throw new Error(`expected ${code}, got a valid key`)
  expect(result).toMatchObject({ status, code })
  expect(JSON.parse(result.body)).toMatchObject({ code, message: result.message })
  expectNoToken(result)
  return result
}

describe("Authenticate.remote", () => {
  it("accepts a valid key from a fetch Headers, with its dates as Date", async () => {
    const result = await authenticator.authenticate(new Headers(bearer(seeded.tokens.sender)), {
      scopes: ["send"],
      resource: DOMAIN
    })
    if (!result.ok) throw new Error(result.body)
    expect(result.key.id).toBe(seeded.tokens.senderId)
    expect(result.key.teamId).toBe(TEAM)
    expect(result.key.createdAt).toBeInstanceOf(Date)
  })

  it("reads the header case-insensitively from a request, a Node-style message or a record", async () => {
    const token = seeded.tokens.sender
    const requests: ReadonlyArray<Authenticate.RequestLike> = [
      new Request("http://service.test/", { headers: bearer(token) }),
      { headers: { authorization: `bearer ${token}` } },
      { headers: { Authorization: [`BEARER  ${token} `] } },
      { AUTHORIZATION: `Bearer ${token}` }
    ]
    for (const request of requests) expect((await authenticator.authenticate(request)).ok).toBe(true)
  })

  it("answers 401 missing_api_key without calling the API", async () => {
    const before = api.requests()
    for (const request of [
      {},
      { headers: {} },
      new Headers(),
      { authorization: "Bearer " },
      { authorization: `Basic ${btoa("user:password")}` },
      { authorization: `Bearer${seeded.tokens.sender}` }
    ]) {
      const refused = expectRefused(await authenticator.authenticate(request), 401, "missing_api_key")
      expect(refused.message).toBe(ApiErrors.messages.missing)
    }
    expect(api.requests()).toBe(before)
  })

  it("answers 401 invalid_api_key for unknown, revoked and malformed keys", async () => {
    for (const token of [seeded.tokens.unknown, seeded.tokens.revoked, "nonsense"]) {
      const refused = expectRefused(await authenticator.authenticate(bearer(token)), 401, "invalid_api_key")
      expect(refused.message).toBe(ApiErrors.messages.invalid)
    }
  })

  it("answers 401 key_expired for an expired key", async () => {
    expectRefused(await authenticator.authenticate(bearer(seeded.tokens.expired)), 401, "key_expired")
  })

  it("answers 403 insufficient_scope with requiredScopes, in the body too", async () => {
    const refused = expectRefused(
      await authenticator.authenticate(bearer(seeded.tokens.reader), { scopes: ["read", "send"] }),
      403,
      "insufficient_scope"
    )
    expect(refused.requiredScopes).toEqual(["send"])
    expect(JSON.parse(refused.body)).toEqual({
      code: "insufficient_scope",
      message: ApiErrors.insufficientScopeMessage(["send"]),
      requiredScopes: ["send"]
    })
  })

  it("answers 403 resource_not_allowed outside the key's resources", async () => {
    expectRefused(
      await authenticator.authenticate(bearer(seeded.tokens.sender), { resource: "other.example" }),
      403,
      "resource_not_allowed"
    )
  })

  it("answers 503 when the verifier's own root key is refused", async () => {
    const refusedRoot = Authenticate.remote({ baseUrl: api.baseUrl, apiKey: seeded.tokens.rootWithoutVerify })
    for (let attempt = 0; attempt < 2; attempt++)
      expectRefused(await refusedRoot.authenticate(bearer(seeded.tokens.sender)), 503, "service_unavailable")
    // Logged once for the operator; the log line carries status and code, no key.
    const logged = consoleLines.map((line) => line.join(" ")).filter((line) => line.includes("root key"))
    expect(logged).toHaveLength(1)
    expect(logged[0]).toContain("status=403")
  })

  it("answers 503 when the API is down", async () => {
    const down = Authenticate.remote({ baseUrl: await closedBaseUrl(), apiKey: seeded.tokens.root })
    expectRefused(await down.authenticate(bearer(seeded.tokens.sender)), 503, "service_unavailable")
  })

  it("answers 503 within the timeout when the API never answers", async () => {
    const hanging = Authenticate.remote({
      baseUrl: silent.baseUrl,
      apiKey: seeded.tokens.root,
      timeout: "200 millis"
    })
    const started = performance.now()
    expectRefused(await hanging.authenticate(bearer(seeded.tokens.sender)), 503, "service_unavailable")
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})

describe("Authenticate.fromVerifier", () => {
  it("passes the token and options through and maps rate_limited to 429", async () => {
    const calls: Array<unknown> = []
    const limited = Authenticate.fromVerifier((token, options) => {
      calls.push({ token, options })
      return { valid: false, code: "rate_limited" }
    })
    expectRefused(await limited.authenticate(bearer("tok"), { scopes: ["send"] }), 429, "rate_limited")
    expect(calls).toEqual([{ token: "tok", options: { scopes: ["send"] } }])
  })

  it("answers 503 when the verification rejects or answers valid without a key", async () => {
    const throwing = Authenticate.fromVerifier(() => Promise.reject(new Error("down")))
    expectRefused(await throwing.authenticate(bearer("tok")), 503, "service_unavailable")
    const keyless = Authenticate.fromVerifier(() => ({ valid: true, code: "valid" }))
    expectRefused(await keyless.authenticate(bearer("tok")), 503, "service_unavailable")
  })
})

describe("guarding a node:http handler", () => {
  let service: Server
  let serviceUrl: string

  beforeAll(async () => {
    service = createServer(async (req, res) => {
      const auth = await authenticator.authenticate(req, { scopes: ["send"], resource: DOMAIN })
      if (!auth.ok) {
        res.writeHead(auth.status, { "content-type": "application/json" }).end(auth.body)
        return
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keyId: auth.key.id }))
    })
    await new Promise<void>((resolve) => service.listen(0, "127.0.0.1", resolve))
    serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}/send`
  })

  afterAll(async () => {
    service?.closeAllConnections()
    await new Promise((resolve) => service?.close(resolve))
  })

  const call = async (headers: Record<string, string>) => {
    const response = await fetch(serviceUrl, { method: "POST", headers, signal: AbortSignal.timeout(5_000) })
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: (await response.json()) as unknown
    }
  }

  it("answers the verified key, or the contract's error", async () => {
    expect(await call(bearer(seeded.tokens.sender))).toMatchObject({
      status: 200,
      body: { keyId: seeded.tokens.senderId }
    })
    expect(await call({})).toMatchObject({
      status: 401,
      contentType: "application/json",
      body: { code: "missing_api_key", message: ApiErrors.messages.missing }
    })
    expect(await call(bearer(seeded.tokens.reader))).toMatchObject({
      status: 403,
      body: { code: "insufficient_scope", requiredScopes: ["send"] }
    })
  })
})
