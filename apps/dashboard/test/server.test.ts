/**
 * The server side of the dashboard without a browser: static serving, the session endpoints and
 * their cookie, the CSRF checks, the proxy's limits, and the bearer-key API left as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Redacted } from "effect"
import * as Sessions from "../../api/src/Sessions.js"
import { type Credential, type Reply, request, type RunningApi, startApi } from "./helpers.js"

const CSRF = { "x-keys-dashboard": "1" }
const KEY_ANYWHERE = /sk_(live|test)_[0-9A-Za-z]{48}/

let api: RunningApi
let root: Credential

beforeAll(async () => {
  api = await startApi()
  root = await api.rootKey()
})
afterAll(() => api?.close())

const cookieFrom = (reply: Reply): string => (reply.headers.get("set-cookie") ?? "").split(";")[0] ?? ""

const signIn = async (key: string, headers: Record<string, string> = CSRF) =>
  request(api.url, "POST", "/dashboard/api/session", { body: { key }, headers })

describe("static dashboard", () => {
  it("serves the built app at /dashboard with a strict content security policy", async () => {
    const page = await request(api.url, "GET", "/dashboard")
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toContain("text/html")
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'")
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
    expect(page.headers.get("x-frame-options")).toBe("DENY")
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(page.text)?.[1]
    expect(script).toBeDefined()
    const asset = await request(api.url, "GET", script!)
    expect(asset.status).toBe(200)
    expect(asset.headers.get("content-type")).toContain("text/javascript")
    expect(asset.headers.get("cache-control")).toContain("immutable")
  })

  it("answers app routes with the page, missing files with 404, and never leaves the build folder", async () => {
    expect((await request(api.url, "GET", "/dashboard/keys/key_1")).headers.get("content-type")).toContain(
      "text/html"
    )
    expect((await request(api.url, "GET", "/dashboard/assets/missing.js")).status).toBe(404)
    for (const path of [
      "/dashboard/assets/%2e%2e/%2e%2e/package.json",
      "/dashboard/..%2f..%2fpackage.json",
      "/dashboard/assets/..%2F..%2F..%2Fapi%2Fpackage.json"
    ]) {
      const reply = await request(api.url, "GET", path)
      expect(reply.status, path).toBe(404)
      expect(reply.text).not.toContain('"name"')
    }
    expect((await request(api.url, "POST", "/dashboard")).status).toBe(405)
    expect((await request(api.url, "GET", "/dashboardx")).status).toBe(404)
  })
})

describe("sessions", () => {
  it("exchanges a root key for an HttpOnly, SameSite=Strict cookie and never sends the key back", async () => {
    const reply = await signIn(root.key)
    expect(reply.status).toBe(200)
    const cookie = reply.headers.get("set-cookie") ?? ""
    expect(cookie).toMatch(/^keys_session=[A-Za-z0-9_-]{43};/)
    expect(cookie).toContain("HttpOnly")
    expect(cookie).toContain("SameSite=Strict")
    expect(cookie).toContain("Path=/dashboard")
    expect(cookie).not.toContain("Secure")
    expect(reply.json).toMatchObject({ teamId: "default", keyId: root.id })
    expect(reply.text).not.toMatch(KEY_ANYWHERE)
    expect(reply.headers.get("cache-control")).toBe("no-store")

    const current = await request(api.url, "GET", "/dashboard/api/session", {
      headers: { ...CSRF, cookie: cookieFrom(reply) }
    })
    expect(current.status).toBe(200)
    expect(current.json.keyId).toBe(root.id)
    expect(current.text).not.toMatch(KEY_ANYWHERE)
  })

  it("marks the cookie Secure behind HTTPS", async () => {
    const reply = await signIn(root.key, { ...CSRF, "x-forwarded-proto": "https" })
    expect(reply.headers.get("set-cookie")).toContain("Secure")
  })

  it("refuses bad keys with the API's codes and a message", async () => {
    const wrong = await signIn(`sk_live_${"a".repeat(48)}`)
    expect(wrong.status).toBe(401)
    expect(wrong.json).toMatchObject({ code: "invalid_api_key" })
    expect(wrong.headers.get("set-cookie")).toBeNull()

    const product = await request(api.url, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "Product key", scopes: ["send"] }
    })
    const notRoot = await signIn(product.json.key)
    expect(notRoot.status).toBe(403)
    expect(notRoot.json.code).toBe("insufficient_scope")
    expect(notRoot.json.message).toContain("root key")

    const empty = await signIn("")
    expect(empty.status).toBe(400)
    expect(empty.json.code).toBe("validation_error")
  })

  it("refuses session calls without the CSRF header or from another origin", async () => {
    const signedIn = await signIn(root.key)
    const cookie = cookieFrom(signedIn)
    const cases: Array<Record<string, string>> = [
      {},
      { "x-keys-dashboard": "0" },
      { ...CSRF, origin: "https://evil.example" },
      { ...CSRF, origin: "null" },
      { ...CSRF, "sec-fetch-site": "cross-site" },
      { ...CSRF, "sec-fetch-site": "same-site" }
    ]
    for (const headers of cases) {
      const login = await signIn(root.key, headers)
      expect(login.status, JSON.stringify(headers)).toBe(403)
      expect(login.json.code).toBe("csrf_rejected")
      expect(login.headers.get("set-cookie")).toBeNull()
      const create = await request(api.url, "POST", "/dashboard/api/v1/keys", {
        body: { name: "forged" },
        headers: { ...headers, cookie }
      })
      expect(create.status, JSON.stringify(headers)).toBe(403)
    }
    const sameOrigin = await signIn(root.key, { ...CSRF, origin: api.url, "sec-fetch-site": "same-origin" })
    expect(sameOrigin.status).toBe(200)
    const list = await request(api.url, "GET", "/dashboard/api/v1/keys", { headers: { ...CSRF, cookie } })
    expect(list.json.data.some((key: { name: string }) => key.name === "forged")).toBe(false)
  })

  it("proxies only the management calls, with the session's key, and keeps the key out of answers", async () => {
    const cookie = cookieFrom(await signIn(root.key))
    const headers = { ...CSRF, cookie }
    const created = await request(api.url, "POST", "/dashboard/api/v1/keys", {
      headers,
      body: { name: "Via session", scopes: ["send"] }
    })
    expect(created.status).toBe(201)
    expect(created.json.key).toMatch(KEY_ANYWHERE)
    expect(created.headers.get("cache-control")).toBe("no-store")
    const listed = await request(api.url, "GET", "/dashboard/api/v1/keys?limit=5", { headers })
    expect(listed.status).toBe(200)
    expect(listed.text).not.toMatch(KEY_ANYWHERE)
    const audit = await request(api.url, "GET", `/dashboard/api/v1/audit?keyId=${created.json.id}`, {
      headers
    })
    expect(audit.json.data[0]).toMatchObject({ action: "key.created", actorKeyId: root.id })

    const verify = await request(api.url, "POST", "/dashboard/api/v1/keys/verify", {
      headers,
      body: { key: created.json.key }
    })
    expect(verify.status).toBe(404)
    expect((await request(api.url, "GET", "/dashboard/api/v1/auth", { headers })).status).toBe(404)
    expect((await request(api.url, "GET", "/dashboard/api/v1/metrics", { headers })).status).toBe(404)
  })

  it("answers 401 without a session, and ends the session on sign-out", async () => {
    const anonymous = await request(api.url, "GET", "/dashboard/api/v1/keys", { headers: CSRF })
    expect(anonymous.status).toBe(401)
    expect(anonymous.json.code).toBe("invalid_session")
    const forged = await request(api.url, "GET", "/dashboard/api/v1/keys", {
      headers: { ...CSRF, cookie: "keys_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }
    })
    expect(forged.status).toBe(401)

    const cookie = cookieFrom(await signIn(root.key))
    const out = await request(api.url, "DELETE", "/dashboard/api/session", { headers: { ...CSRF, cookie } })
    expect(out.status).toBe(204)
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0")
    const after = await request(api.url, "GET", "/dashboard/api/v1/keys", { headers: { ...CSRF, cookie } })
    expect(after.status).toBe(401)
    expect(
      (await request(api.url, "GET", "/dashboard/api/session", { headers: { ...CSRF, cookie } })).status
    ).toBe(401)
  })

  it("ends the session when its root key is revoked", async () => {
    const other = await api.rootKey()
    const cookie = cookieFrom(await signIn(other.key))
    const headers = { ...CSRF, cookie }
    expect((await request(api.url, "GET", "/dashboard/api/v1/keys", { headers })).status).toBe(200)
    await request(api.url, "DELETE", `/v1/keys/${other.id}`, { key: root.key })
    const refused = await request(api.url, "GET", "/dashboard/api/v1/keys", { headers })
    expect(refused.status).toBe(401)
    expect((await request(api.url, "GET", "/dashboard/api/session", { headers })).status).toBe(401)
  })

  it("leaves the bearer-key API as it was: a session cookie is no key there", async () => {
    const cookie = cookieFrom(await signIn(root.key))
    expect((await request(api.url, "GET", "/v1/keys", { key: root.key })).status).toBe(200)
    const cookieOnly = await request(api.url, "GET", "/v1/keys", { headers: { ...CSRF, cookie } })
    expect(cookieOnly.status).toBe(401)
    expect(cookieOnly.json.code).toBe("missing_api_key")
  })
})

describe("Sessions", () => {
  const input = (keyExpiresAt: number | null = null) => ({
    rootKey: Redacted.make("sk_live_x"),
    keyId: "key_1",
    keyName: "Root",
    teamId: "default",
    scopes: ["keys:read"],
    keyExpiresAt
  })

  it("ends a session after its maximum age, when idle, or when the key expires", () => {
    let now = 1_000_000
    const sessions = Sessions.make({ maxAgeMs: 10_000, idleTimeoutMs: 4_000, now: () => now })
    const { token } = sessions.create(input())
    for (let step = 0; step < 3; step++) {
      now += 3_000
      expect(sessions.get(token)).toBeDefined()
    }
    now += 1_500
    expect(sessions.get(token)).toBeUndefined()

    const idle = sessions.create(input()).token
    now += 4_000
    expect(sessions.get(idle)).toBeUndefined()

    const shortKey = sessions.create(input(now + 1_000)).token
    now += 1_000
    expect(sessions.get(shortKey)).toBeUndefined()
  })

  it("keeps at most maxSessions, dropping the least recently used, and never stores a token as is", () => {
    let now = 0
    const sessions = Sessions.make({ maxSessions: 2, now: () => now })
    const first = sessions.create(input()).token
    const second = sessions.create(input()).token
    now += 10
    expect(sessions.get(first)).toBeDefined()
    const third = sessions.create(input()).token
    expect(sessions.size()).toBe(2)
    expect(sessions.get(second)).toBeUndefined()
    expect(sessions.get(first)).toBeDefined()
    expect(sessions.get(third)).toBeDefined()
    expect(first).not.toBe(third)
    sessions.end(first)
    expect(sessions.get(first)).toBeUndefined()
  })
})
