import { describe, expect, it } from "vitest"
import { fetchAdapter, isUnauthorized, KeysApiError } from "../src/KeysAdapter.js"

interface Seen {
  url: string
  init: RequestInit | undefined
}

const recording = (status: number, body: unknown) => {
  const seen: Array<Seen> = []
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push({ url: String(input), init })
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" }
    })
  }
  return { seen, fetch: fetch as typeof globalThis.fetch }
}

describe("fetchAdapter", () => {
  it("lists with the filters as query parameters under the base URL", async () => {
    const { seen, fetch } = recording(200, { data: [], nextCursor: null })
    const adapter = fetchAdapter({ baseUrl: "/dashboard/api/", headers: { "x-keys-dashboard": "1" }, fetch })
    await adapter.list({ status: "revoked", environment: "test", expiringWithin: undefined })
    expect(seen[0]!.url).toBe("/dashboard/api/v1/keys?status=revoked&environment=test&limit=50")
    expect(seen[0]!.init?.method).toBe("GET")
    expect(seen[0]!.init?.credentials).toBe("same-origin")
    expect(new Headers(seen[0]!.init?.headers).get("x-keys-dashboard")).toBe("1")
  })

  it("sends JSON bodies for create and roll, and escapes ids in paths", async () => {
    const { seen, fetch } = recording(201, { id: "key_2", key: "secret" })
    const adapter = fetchAdapter({ fetch })
    await adapter.create({ name: "CI", scopes: ["send"] })
    await adapter.roll("key/../x", { gracePeriodSeconds: 3600 })
    expect(seen[0]!.url).toBe("/v1/keys")
    expect(seen[0]!.init?.body).toBe(JSON.stringify({ name: "CI", scopes: ["send"] }))
    expect(new Headers(seen[0]!.init?.headers).get("content-type")).toBe("application/json")
    expect(seen[1]!.url).toBe("/v1/keys/key%2F..%2Fx/roll")
    expect(seen[1]!.init?.body).toBe(JSON.stringify({ gracePeriodSeconds: 3600 }))
  })

  it("revokes with DELETE and reads the audit log by key", async () => {
    const { seen, fetch } = recording(200, { data: [], nextCursor: null })
    const adapter = fetchAdapter({ fetch })
    await adapter.revoke("key_1")
    await adapter.audit({ keyId: "key_1", limit: 10 })
    expect(seen[0]!.init?.method).toBe("DELETE")
    expect(seen[0]!.url).toBe("/v1/keys/key_1")
    expect(seen[1]!.url).toBe("/v1/audit?keyId=key_1&limit=10")
  })

  it("throws the API's code and message", async () => {
    const { fetch } = recording(403, { code: "insufficient_scope", message: "This key lacks keys:write." })
    const error = await fetchAdapter({ fetch })
      .create({ name: "x" })
      .catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(KeysApiError)
    expect(error).toMatchObject({
      status: 403,
      code: "insufficient_scope",
      message: "This key lacks keys:write."
    })
    expect(isUnauthorized(error)).toBe(false)
  })

  it("marks a 401 as unauthorized and a network failure as status 0", async () => {
    const { fetch } = recording(401, { code: "invalid_session", message: "Sign in again." })
    const unauthorized = await fetchAdapter({ fetch })
      .list({})
      .catch((failure: unknown) => failure)
    expect(isUnauthorized(unauthorized)).toBe(true)
    const offline = await fetchAdapter({
      fetch: (() => Promise.reject(new TypeError("fetch failed"))) as typeof globalThis.fetch
    })
      .list({})
      .catch((failure: unknown) => failure)
    expect(offline).toMatchObject({ status: 0, code: "network_error" })
  })

  it("explains a failure without a JSON body", async () => {
    const fetch = (async () =>
      new Response("<html>bad gateway</html>", { status: 502 })) as typeof globalThis.fetch
    const error = await fetchAdapter({ fetch })
      .list({})
      .catch((failure: unknown) => failure)
    expect(error).toMatchObject({ status: 502, code: "http_error" })
    expect((error as Error).message).toContain("502")
  })
})
