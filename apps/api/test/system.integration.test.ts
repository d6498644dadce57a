/**
 * The unauthenticated endpoints (/healthz, /readyz, /metrics, /openapi.json, /docs), unknown routes,
 * and the request id every response carries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Credential,
  createKey,
  expectError,
  expectOk,
  randomLookingKey,
  type RunningApi,
  request,
  startApiOnFreshDatabase,
  uniqueTeam,
  verify
} from "./helpers.js"

let api: RunningApi
let root: Credential

beforeAll(async () => {
  api = await startApiOnFreshDatabase()
  root = await api.rootKey(uniqueTeam("system"))
}, 60_000)

afterAll(async () => {
  await api?.close()
})

describe("health", { timeout: 30_000 }, () => {
  it("GET /healthz: 200 {status: ok}, no key needed", async () => {
    const reply = await request(api, "GET", "/healthz")
    expectOk(reply)
    expect(reply.json).toEqual({ status: "ok" })
  })

  it("GET /readyz: 200 while the database answers", async () => {
    const reply = await request(api, "GET", "/readyz")
    expect(reply.status).toBe(200)
    expect(reply.headers.get("x-request-id")).toBeTruthy()
  })
})

describe("GET /metrics", { timeout: 30_000 }, () => {
  it("is Prometheus text with request counts by route and status and verification outcomes by code", async () => {
    const created = await createKey(api, root.key, { name: "metered" })
    await verify(api, root.key, { key: created.key })
    await verify(api, root.key, { key: randomLookingKey() })
    await request(api, "GET", "/v1/keys", { key: "sk_live_nope" })
    await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    await request(api, "GET", "/no/such/route")
    const reply = await request(api, "GET", "/metrics")
    expect(reply.status).toBe(200)
    expect(reply.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(reply.headers.get("x-request-id")).toBeTruthy()
    const text = reply.text
    expect(text).toContain("# TYPE keys_http_requests_total counter")
    expect(text).toContain("# TYPE keys_verifications_total counter")
    expect(text).toMatch(/keys_http_requests_total\{method="POST",route="\/v1\/keys",status="201"\} \d+/)
    expect(text).toMatch(
      /keys_http_requests_total\{method="POST",route="\/v1\/keys\/verify",status="200"\} \d+/
    )
    expect(text).toMatch(/keys_http_requests_total\{method="GET",route="\/v1\/keys",status="401"\} \d+/)
    // Ids are folded into the route template: the series count stays bounded.
    expect(text).toMatch(
      /keys_http_requests_total\{method="GET",route="\/v1\/keys\/\{id\}",status="200"\} \d+/
    )
    expect(text).not.toContain(created.id)
    expect(text).toMatch(/keys_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} \d+/)
    expect(text).toMatch(/keys_verifications_total\{code="valid"\} [1-9]\d*/)
    expect(text).toMatch(/keys_verifications_total\{code="invalid_api_key"\} [1-9]\d*/)
    expect(text).toMatch(/keys_cache_hits_total \d+/)
    expect(text).toMatch(/keys_cache_misses_total \d+/)
    // Every sample line is well formed.
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue
      expect(line).toMatch(
        /^[a-z_]+(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (\d+(\.\d+)?(e[+-]?\d+)?|\+Inf|NaN)$/
      )
    }
    expect(text).not.toMatch(/sk_(live|test)_/)
  })
})

describe("OpenAPI and docs", { timeout: 30_000 }, () => {
  it("GET /openapi.json is an OpenAPI 3.1 document listing every endpoint", async () => {
    const reply = await request(api, "GET", "/openapi.json")
    expectOk(reply)
    expect(reply.json.openapi).toMatch(/^3\.1\./)
    expect(reply.json.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })
    const paths = reply.json.paths
    for (const path of [
      "/v1/keys",
      "/v1/keys/{id}",
      "/v1/keys/{id}/roll",
      "/v1/keys/verify",
      "/v1/auth",
      "/v1/audit",
      "/healthz",
      "/readyz",
      "/metrics"
    ]) {
      expect(paths, path).toHaveProperty([path])
    }
    expect(Object.keys(paths["/v1/keys"]).sort()).toEqual(["get", "post"])
    expect(Object.keys(paths["/v1/keys/{id}"]).sort()).toEqual(["delete", "get", "patch"])
    expect(Object.keys(paths["/v1/keys/verify"])).toEqual(["post"])
    expect(Object.keys(paths["/v1/auth"])).toEqual(["get"])
    expect(paths["/v1/keys"].post.responses).toHaveProperty(["201"])
    expect(paths["/v1/keys/{id}/roll"].post.responses).toHaveProperty(["201"])
    expect(reply.text).not.toMatch(/sk_(live|test)_[0-9A-Za-z]{48}/)
  })

  it("GET /docs renders the document as HTML", async () => {
    const reply = await request(api, "GET", "/docs")
    expect(reply.status).toBe(200)
    expect(reply.headers.get("content-type")).toMatch(/^text\/html/)
    expect(reply.headers.get("x-request-id")).toBeTruthy()
    expect(reply.text.toLowerCase()).toContain("<html")
  })
})

describe("unknown routes", { timeout: 30_000 }, () => {
  it.each([
    ["GET", "/"],
    ["GET", "/nope"],
    ["GET", "/v1"],
    ["GET", "/v2/keys"],
    ["POST", "/v1/nope"],
    ["PUT", "/v1/keys"],
    ["DELETE", "/v1/keys"],
    ["PUT", "/v1/keys/key_x"],
    ["POST", "/healthz"],
    ["GET", "/v1/keys/key_x/roll"],
    ["GET", "/v1/keys/a/b/c"],
    ["GET", "/%2e%2e/%2e%2e/etc/passwd"]
  ])("%s %s: 404 not_found as JSON", async (method, path) => {
    const reply = await request(api, method, path, { key: root.key })
    expectError(reply, 404, "not_found")
  })

  it("a well-formed unknown route needs no key to be told it does not exist", async () => {
    expectError(await request(api, "GET", "/unknown"), 404, "not_found")
  })
})

describe("X-Request-Id", { timeout: 30_000 }, () => {
  it("is on every response, success or error, of every endpoint, and differs between requests", async () => {
    const created = await createKey(api, root.key, { name: "ids" })
    const replies = [
      await request(api, "GET", "/healthz"),
      await request(api, "GET", "/readyz"),
      await request(api, "GET", "/metrics"),
      await request(api, "GET", "/openapi.json"),
      await request(api, "GET", "/docs"),
      await request(api, "GET", "/nope"),
      await request(api, "GET", "/v1/keys", { key: root.key }),
      await request(api, "GET", "/v1/keys"),
      await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key }),
      await request(api, "GET", "/v1/keys/key_unknown", { key: root.key }),
      await request(api, "POST", "/v1/keys", { key: root.key, body: {} }),
      await request(api, "PATCH", `/v1/keys/${created.id}`, { key: root.key, body: { name: "n" } }),
      await request(api, "POST", `/v1/keys/${created.id}/roll`, { key: root.key, body: {} }),
      await request(api, "DELETE", `/v1/keys/${created.id}`, { key: root.key }),
      await request(api, "GET", "/v1/audit", { key: root.key }),
      await verify(api, root.key, { key: created.key }),
      await request(api, "POST", "/v1/keys/verify", { body: { key: "x" } }),
      await request(api, "POST", "/v1/keys/verify", { key: root.key, rawBody: "{" }),
      await request(api, "GET", "/v1/auth", { key: root.key }),
      await request(api, "GET", "/v1/auth")
    ]
    const ids = replies.map((reply) => reply.headers.get("x-request-id"))
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("echoes a well-formed incoming X-Request-Id and replaces a malformed one", async () => {
    for (const [method, path] of [
      ["GET", "/healthz"],
      ["GET", "/v1/keys"],
      ["GET", "/v1/auth"],
      ["POST", "/v1/keys/verify"]
    ] as const) {
      const echoed = await request(api, method, path, {
        key: root.key,
        headers: { "x-request-id": "trace-123_abc.9" },
        ...(method === "POST" ? { body: { key: "x" } } : {})
      })
      expect(echoed.headers.get("x-request-id")).toBe("trace-123_abc.9")
      for (const bad of ["has space", "x".repeat(65), "semi;colon", "slash/es", "<script>"]) {
        const replaced = await request(api, method, path, {
          key: root.key,
          headers: { "x-request-id": bad },
          ...(method === "POST" ? { body: { key: "x" } } : {})
        })
        const id = replaced.headers.get("x-request-id")
        expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/)
        expect(id).not.toBe(bad)
      }
    }
  })
})
