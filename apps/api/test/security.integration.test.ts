/**
 * Who may do what, over real HTTP: authentication failures on every authenticated endpoint, scope
 * checks (with `requiredScopes`), team boundaries (existence never leaks), `admin`, and the two
 * verification endpoints (`POST /v1/keys/verify`, always 200, and `GET /v1/auth`, forward-auth).
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
  verify,
  waitFor,
  withWrongChecksum
} from "./helpers.js"

let api: RunningApi
let platform: Credential

beforeAll(async () => {
  api = await startApiOnFreshDatabase()
  platform = await api.rootKey(uniqueTeam("platform"), { admin: true })
}, 60_000)

afterAll(async () => {
  await api?.close()
})

interface Endpoint {
  readonly name: string
  readonly method: string
  readonly path: (id: string) => string
  readonly body?: unknown
  /** The scope it needs; undefined for GET /v1/auth, which checks the caller's own key only. */
  readonly scope: string | undefined
}

const ENDPOINTS: ReadonlyArray<Endpoint> = [
  { name: "POST /v1/keys", method: "POST", path: () => "/v1/keys", body: { name: "x" }, scope: "keys:write" },
  { name: "GET /v1/keys", method: "GET", path: () => "/v1/keys", scope: "keys:read" },
  { name: "GET /v1/keys/{id}", method: "GET", path: (id) => `/v1/keys/${id}`, scope: "keys:read" },
  {
    name: "PATCH /v1/keys/{id}",
    method: "PATCH",
    path: (id) => `/v1/keys/${id}`,
    body: { name: "y" },
    scope: "keys:write"
  },
  { name: "DELETE /v1/keys/{id}", method: "DELETE", path: (id) => `/v1/keys/${id}`, scope: "keys:write" },
  {
    name: "POST /v1/keys/{id}/roll",
    method: "POST",
    path: (id) => `/v1/keys/${id}/roll`,
    body: {},
    scope: "keys:write"
  },
  {
    name: "POST /v1/keys/verify",
    method: "POST",
    path: () => "/v1/keys/verify",
    body: { key: randomLookingKey() },
    scope: "keys:verify"
  },
  { name: "GET /v1/audit", method: "GET", path: () => "/v1/audit", scope: "keys:read" },
  { name: "GET /v1/auth", method: "GET", path: () => "/v1/auth", scope: undefined }
]

const MANAGEMENT = ENDPOINTS.filter((endpoint) => endpoint.scope !== undefined)

const call = (endpoint: Endpoint, id: string, headers: Record<string, string>) =>
  request(api, endpoint.method, endpoint.path(id), {
    headers,
    ...(endpoint.body === undefined ? {} : { body: endpoint.body })
  })

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A team with a root key and one ordinary key (the target of the {id} endpoints). */
const newTeam = async (label: string) => {
  const root = await api.rootKey(uniqueTeam(label))
  const target = await createKey(api, root.key, { name: "target" })
  return { root, target }
}

/** A key that expires a second from now, once it has (polled, bounded). */
const expiredKey = async (teamId: string, scopes: ReadonlyArray<string> | null) => {
  const key = await api.keyWith(teamId, scopes, { expiresAt: new Date(Date.now() + 1_000) })
  await waitFor(
    "the key to expire",
    async () => {
      const result = await verify(api, platform.key, { key: key.key })
      return result.json.code === "key_expired" ? true : undefined
    },
    { timeoutMillis: 10_000 }
  )
  return key
}

describe("authentication", { timeout: 30_000 }, () => {
  it.each(ENDPOINTS.map((endpoint) => [endpoint.name, endpoint] as const))(
    "%s: 401 missing_api_key without a bearer key",
    async (_name, endpoint) => {
      const { target } = await newTeam("missing")
      expectError(await call(endpoint, target.id, {}), 401, "missing_api_key")
      expectError(await call(endpoint, target.id, { authorization: "Bearer " }), 401, "missing_api_key")
      expectError(await call(endpoint, target.id, { authorization: "Bearer    " }), 401, "missing_api_key")
      expectError(await call(endpoint, target.id, { authorization: "" }), 401, "missing_api_key")
    }
  )

  it.each(ENDPOINTS.map((endpoint) => [endpoint.name, endpoint] as const))(
    "%s: 401 invalid_api_key for malformed, mistyped, unknown and revoked keys",
    async (_name, endpoint) => {
      const { root, target } = await newTeam("invalid")
      const revoked = await api.rootKey(root.teamId)
      expectOk(await request(api, "DELETE", `/v1/keys/${revoked.id}`, { key: root.key }))
      for (const token of [
        "not-a-key",
        "sk_live_",
        "sk_live_short",
        root.key.slice(0, -1),
        `${root.key}x`,
        root.key.replace("sk_live_", "sk_test_"),
        root.key.replace("sk_live_", "pk_live_"),
        `${root.key.slice(0, 20)}-${root.key.slice(21)}`,
        "x".repeat(600),
        withWrongChecksum(root.key),
        randomLookingKey(),
        revoked.key
      ]) {
        expectError(await call(endpoint, target.id, bearer(token)), 401, "invalid_api_key")
      }
      // The refused requests changed nothing: the target key is intact.
      const fetched = await request(api, "GET", `/v1/keys/${target.id}`, { key: root.key })
      expect(fetched.json).toMatchObject({ name: "target", status: "active" })
    }
  )

  it("accepts the bearer scheme in any case", async () => {
    const { root } = await newTeam("case")
    expectOk(await request(api, "GET", "/v1/keys", { headers: { authorization: `bearer ${root.key}` } }))
    expectOk(await request(api, "GET", "/v1/keys", { headers: { authorization: `BEARER ${root.key}` } }))
    const auth = await request(api, "GET", "/v1/auth", { headers: { authorization: `bearer ${root.key}` } })
    expect(auth.status).toBe(200)
  })

  it("an expired root key gets 401 key_expired everywhere", async () => {
    const team = uniqueTeam("expired-root")
    const { key: expired } = await expiredKey(team, ["keys:read", "keys:write", "keys:verify"])
    const target = await api.keyWith(team, ["send"])
    for (const endpoint of ENDPOINTS) {
      expectError(await call(endpoint, target.id, bearer(expired)), 401, "key_expired")
    }
  })

  // Contract (section 3): missing_api_key when there is "no `Authorization: Bearer …` header".
  it("a non-Bearer Authorization header is missing_api_key on every endpoint", async () => {
    const { root, target } = await newTeam("basic")
    for (const endpoint of ENDPOINTS) {
      for (const authorization of [`Basic ${root.key}`, `Token ${root.key}`, root.key]) {
        expectError(await call(endpoint, target.id, { authorization }), 401, "missing_api_key")
      }
    }
  })
})

describe("scopes", { timeout: 30_000 }, () => {
  it.each(MANAGEMENT.map((endpoint) => [endpoint.name, endpoint] as const))(
    "%s: 403 insufficient_scope with requiredScopes when the key lacks its scope",
    async (_name, endpoint) => {
      const { root, target } = await newTeam("scopes")
      const allBut = ["keys:read", "keys:write", "keys:verify", "admin"].filter((s) => s !== endpoint.scope)
      const lacking = await api.keyWith(root.teamId, allBut)
      const reply = await call(endpoint, target.id, bearer(lacking.key))
      expectError(reply, 403, "insufficient_scope")
      expect(reply.json.requiredScopes).toEqual([endpoint.scope])
      // Unscoped keys and wildcards hold no management scope.
      for (const scopes of [null, ["keys:*"], ["send", "read", "write"]]) {
        const other = await api.keyWith(root.teamId, scopes)
        const refused = await call(endpoint, target.id, bearer(other.key))
        expectError(refused, 403, "insufficient_scope")
        expect(refused.json.requiredScopes).toEqual([endpoint.scope])
      }
      const fetched = await request(api, "GET", `/v1/keys/${target.id}`, { key: root.key })
      expect(fetched.json).toMatchObject({ name: "target", status: "active" })
    }
  )

  it("the scope is checked before the team: a key without keys:read asking for another team learns only that", async () => {
    const { root } = await newTeam("order")
    const writer = await api.keyWith(root.teamId, ["keys:write"])
    const reply = await request(api, "GET", "/v1/keys", {
      key: writer.key,
      query: { teamId: uniqueTeam("elsewhere") }
    })
    expectError(reply, 403, "insufficient_scope")
    expect(reply.json.requiredScopes).toEqual(["keys:read"])
  })

  it("each management scope grants its endpoints only", async () => {
    const { root, target } = await newTeam("grants")
    const reader = await api.keyWith(root.teamId, ["keys:read"])
    expectOk(await request(api, "GET", "/v1/keys", { key: reader.key }))
    expectOk(await request(api, "GET", `/v1/keys/${target.id}`, { key: reader.key }))
    expectOk(await request(api, "GET", "/v1/audit", { key: reader.key }))
    const writer = await api.keyWith(root.teamId, ["keys:write"])
    const created = await request(api, "POST", "/v1/keys", { key: writer.key, body: { name: "by writer" } })
    expectOk(created, 201)
    expectOk(await request(api, "PATCH", `/v1/keys/${target.id}`, { key: writer.key, body: { name: "w" } }))
    const verifier = await api.keyWith(root.teamId, ["keys:verify"])
    const result = await verify(api, verifier.key, { key: created.json.key })
    expect(result.json.valid).toBe(true)
  })

  // BUG: privilege escalation across teams. A root key without `admin` may create (POST /v1/keys) or
  // grant (PATCH /v1/keys/{id}) a key with the scope `admin`, and that key then acts on any team
  // (apps/api/src/handlers/Keys.ts: `create`/`update` check only keys:write; nothing stops a caller
  // from granting scopes it does not hold). The contract (section 4): "A root key acts on its own team
  // only, unless it has the scope `admin`". Expected: 403 insufficient_scope (requiredScopes
  // ["admin"]) or 400, and no key of that team ever reaching another team.
  it("a root key without admin cannot mint or grant admin", async () => {
    const { root, target } = await newTeam("escalation")
    const minted = await request(api, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "escalated", scopes: ["admin", "keys:read", "keys:write"] }
    })
    expect(minted.status).not.toBe(201)
    expect([400, 403]).toContain(minted.status)
    const granted = await request(api, "PATCH", `/v1/keys/${target.id}`, {
      key: root.key,
      body: { scopes: ["admin", "keys:read"] }
    })
    expect([400, 403]).toContain(granted.status)
  })
})

describe("teams and admin", { timeout: 30_000 }, () => {
  it("a non-admin root key naming another teamId gets 403 insufficient_scope [admin] on every endpoint", async () => {
    const { root, target } = await newTeam("non-admin")
    const other = uniqueTeam("other")
    for (const endpoint of MANAGEMENT.filter((e) => e.name !== "POST /v1/keys/verify")) {
      const reply =
        endpoint.name === "POST /v1/keys"
          ? await request(api, "POST", "/v1/keys", { key: root.key, body: { name: "x", teamId: other } })
          : await request(api, endpoint.method, endpoint.path(target.id), {
              key: root.key,
              query: { teamId: other },
              ...(endpoint.body === undefined ? {} : { body: endpoint.body })
            })
      expectError(reply, 403, "insufficient_scope")
      expect(reply.json.requiredScopes).toEqual(["admin"])
    }
  })

  it("another team's key id is 404 not_found on get, update, revoke and roll, as if unknown", async () => {
    const a = await newTeam("team-a")
    const b = await newTeam("team-b")
    for (const endpoint of MANAGEMENT.filter((e) => e.path("ID").includes("ID"))) {
      const foreign = await call(endpoint, b.target.id, bearer(a.root.key))
      const unknownId = "key_0000000000000000"
      const unknown = await call(endpoint, unknownId, bearer(a.root.key))
      expectError(foreign, 404, "not_found")
      expectError(unknown, 404, "not_found")
      expect(foreign.text.replace(b.target.id, "ID")).toBe(unknown.text.replace(unknownId, "ID"))
    }
    const intact = await request(api, "GET", `/v1/keys/${b.target.id}`, { key: b.root.key })
    expect(intact.json).toMatchObject({ name: "target", status: "active" })
    expect((await verify(api, b.root.key, { key: b.target.key })).json.valid).toBe(true)
  })

  it("admin acts on another team through teamId on every endpoint", async () => {
    const b = await newTeam("admin-target")
    const query = { teamId: b.root.teamId }
    const created = await request(api, "POST", "/v1/keys", {
      key: platform.key,
      body: { name: "by admin", teamId: b.root.teamId }
    })
    expectOk(created, 201)
    expect(created.json.teamId).toBe(b.root.teamId)
    const listed = await request(api, "GET", "/v1/keys", { key: platform.key, query })
    expect(listed.json.data.map((key: { id: string }) => key.id)).toContain(b.target.id)
    expectOk(await request(api, "GET", `/v1/keys/${b.target.id}`, { key: platform.key, query }))
    const patched = await request(api, "PATCH", `/v1/keys/${b.target.id}`, {
      key: platform.key,
      query,
      body: { name: "renamed" }
    })
    expect(patched.json.name).toBe("renamed")
    const rolled = await request(api, "POST", `/v1/keys/${b.target.id}/roll`, {
      key: platform.key,
      query,
      body: {}
    })
    expectOk(rolled, 201)
    expect(rolled.json.teamId).toBe(b.root.teamId)
    const revoked = await request(api, "DELETE", `/v1/keys/${rolled.json.id}`, { key: platform.key, query })
    expect(revoked.json.status).toBe("revoked")
    const audit = await request(api, "GET", "/v1/audit", { key: platform.key, query })
    const actions = audit.json.data
      .filter((event: { actorKeyId: string | null }) => event.actorKeyId === platform.id)
      .map((event: { action: string }) => event.action)
    expect(actions).toEqual(["key.revoked", "key.rolled", "key.updated", "key.created"])
  })
})

describe("POST /v1/keys/verify", { timeout: 30_000 }, () => {
  const VERIFIED_KEY_FIELDS = [
    "createdAt",
    "environment",
    "expiresAt",
    "id",
    "lastUsedAt",
    "metadata",
    "name",
    "resources",
    "revokedAt",
    "scopes",
    "start",
    "teamId"
  ]

  it("a valid key: 200 {valid: true, code: valid, status: 200, key} with the key without status", async () => {
    const { root } = await newTeam("verify-valid")
    const created = await createKey(api, root.key, {
      name: "customer",
      scopes: ["emails:send"],
      metadata: { plan: "pro" }
    })
    const reply = await verify(api, root.key, { key: created.key })
    expectOk(reply)
    expect(Object.keys(reply.json).sort()).toEqual(["code", "key", "status", "valid"])
    expect(reply.json).toMatchObject({ valid: true, code: "valid", status: 200 })
    expect(Object.keys(reply.json.key).sort()).toEqual(VERIFIED_KEY_FIELDS)
    const { key: _secret, status: _status, ...expected } = created
    expect(reply.json.key).toEqual({ ...expected, lastUsedAt: reply.json.key.lastUsedAt })
    expect(reply.text).not.toContain(created.key)
  })

  it("answers every refusal with 200 and the code and status a caller should use", async () => {
    const { root } = await newTeam("verify-codes")
    const scoped = await createKey(api, root.key, {
      name: "scoped",
      scopes: ["emails:send", "domains:*"],
      resources: ["example.com"]
    })
    const revoked = await createKey(api, root.key, { name: "revoked" })
    expectOk(await request(api, "DELETE", `/v1/keys/${revoked.id}`, { key: root.key }))
    const expired = await expiredKey(root.teamId, ["send"])

    const invalid = { valid: false, code: "invalid_api_key", status: 401 }
    for (const key of [
      randomLookingKey(),
      withWrongChecksum(scoped.key),
      "",
      "garbage",
      "x".repeat(512),
      revoked.key
    ]) {
      const reply = await verify(api, root.key, { key })
      expectOk(reply)
      expect(reply.json).toEqual(invalid)
    }
    const expiredReply = await verify(api, root.key, { key: expired.key })
    expectOk(expiredReply)
    expect(expiredReply.json).toMatchObject({ valid: false, code: "key_expired", status: 401 })
    expect(expiredReply.json.key?.status).toBeUndefined()

    const lacking = await verify(api, root.key, {
      key: scoped.key,
      scopes: ["emails:send", "sms:send", "admin"]
    })
    expect(lacking.json).toMatchObject({
      valid: false,
      code: "insufficient_scope",
      status: 403,
      requiredScopes: ["sms:send", "admin"]
    })
    expect(lacking.json.key.id).toBe(scoped.id)
    const wildcard = await verify(api, root.key, {
      key: scoped.key,
      scopes: ["domains:create", "emails:send"]
    })
    expect(wildcard.json).toMatchObject({ valid: true, code: "valid", status: 200 })
    const outside = await verify(api, root.key, { key: scoped.key, resource: "example.org" })
    expect(outside.json).toMatchObject({ valid: false, code: "resource_not_allowed", status: 403 })
    const inside = await verify(api, root.key, { key: scoped.key, resource: "example.com" })
    expect(inside.json).toMatchObject({ valid: true, code: "valid" })
  })

  it("an unscoped key holds every product scope and no management scope", async () => {
    const { root } = await newTeam("verify-unscoped")
    const unscoped = await createKey(api, root.key, { name: "full access" })
    const product = await verify(api, root.key, {
      key: unscoped.key,
      scopes: ["send", "emails:send", "x:y:z"]
    })
    expect(product.json).toMatchObject({ valid: true, code: "valid" })
    const management = await verify(api, root.key, { key: unscoped.key, scopes: ["keys:read"] })
    expect(management.json).toMatchObject({
      valid: false,
      code: "insufficient_scope",
      requiredScopes: ["keys:read"]
    })
  })

  it("a root key without keys:verify gets 403 insufficient_scope [keys:verify], not a verification", async () => {
    const { root, target } = await newTeam("verify-scope")
    const manager = await api.keyWith(root.teamId, ["keys:read", "keys:write", "admin"])
    const reply = await verify(api, manager.key, { key: target.key })
    expectError(reply, 403, "insufficient_scope")
    expect(reply.json.requiredScopes).toEqual(["keys:verify"])
  })

  it("a non-admin root key verifying another team's key: 200 valid false invalid_api_key, nothing leaked", async () => {
    const a = await newTeam("verify-a")
    const b = await newTeam("verify-b")
    const foreign = await verify(api, a.root.key, { key: b.target.key })
    const unknown = await verify(api, a.root.key, { key: randomLookingKey() })
    expectOk(foreign)
    expect(foreign.json).toEqual({ valid: false, code: "invalid_api_key", status: 401 })
    expect(foreign.text).toBe(unknown.text)
    expect(foreign.text).not.toContain(b.root.teamId)
    // Also with scopes and resource asked for: still nothing about the key.
    const probing = await verify(api, a.root.key, { key: b.target.key, scopes: ["nope"], resource: "x.com" })
    expect(probing.json).toEqual({ valid: false, code: "invalid_api_key", status: 401 })
    // Its own team's verifier and the platform's admin verifier see it.
    expect((await verify(api, b.root.key, { key: b.target.key })).json.valid).toBe(true)
    const asAdmin = await verify(api, platform.key, { key: b.target.key })
    expect(asAdmin.json).toMatchObject({ valid: true, code: "valid" })
    expect(asAdmin.json.key.teamId).toBe(b.root.teamId)
  })

  it.each([
    ["no key", {}],
    ["key not a string", { key: 42 }],
    ["key too long", { key: "k".repeat(513) }],
    ["scopes not an array", { key: "x", scopes: "send" }],
    ["malformed scope", { key: "x", scopes: ["Send Mail"] }],
    ["too many scopes", { key: "x", scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) }],
    ["resource with a space", { key: "x", resource: "a b" }],
    ["a JSON array", ["x"]],
    ["a JSON string", "x"],
    ["null", null]
  ])("400 validation_error for %s", async (_label, body) => {
    const { root } = await newTeam("verify-input")
    const reply = await request(api, "POST", "/v1/keys/verify", {
      key: root.key,
      rawBody: JSON.stringify(body),
      headers: { "content-type": "application/json" }
    })
    expectError(reply, 400, "validation_error")
  })

  it("records usage: lastUsedAt shows up within a few seconds of a verification", async () => {
    const { root } = await newTeam("usage")
    const created = await createKey(api, root.key, { name: "used" })
    const before = Date.now()
    expect((await verify(api, root.key, { key: created.key })).json.valid).toBe(true)
    const lastUsedAt = await waitFor(
      "lastUsedAt",
      async () => {
        const reply = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
        return reply.json.lastUsedAt ?? undefined
      },
      { timeoutMillis: 5_000, intervalMillis: 100 }
    )
    expect(Date.parse(lastUsedAt)).toBeGreaterThanOrEqual(before - 1_000)
    expect(Date.parse(lastUsedAt)).toBeLessThanOrEqual(Date.now() + 1_000)
  })
})

describe("GET /v1/auth", { timeout: 30_000 }, () => {
  it("200 with X-Key-Id, X-Team-Id, X-Key-Environment and X-Key-Scopes for the caller's own key", async () => {
    const { root } = await newTeam("auth")
    const created = await createKey(api, root.key, {
      name: "proxy",
      environment: "test",
      scopes: ["emails:send", "read"]
    })
    const reply = await request(api, "GET", "/v1/auth", { key: created.key })
    expect(reply.status).toBe(200)
    expect(reply.headers.get("x-key-id")).toBe(created.id)
    expect(reply.headers.get("x-team-id")).toBe(root.teamId)
    expect(reply.headers.get("x-key-environment")).toBe("test")
    expect(reply.headers.get("x-key-scopes")).toBe("emails:send,read")
    expect(reply.headers.get("x-request-id")).toBeTruthy()
    expect(reply.text).toBe("")
    const withScopes = await request(api, "GET", "/v1/auth", {
      key: created.key,
      query: { scopes: "emails:send,read" }
    })
    expect(withScopes.status).toBe(200)
    // Unscoped keys: every product scope.
    const unscoped = await createKey(api, root.key, { name: "all" })
    const all = await request(api, "GET", "/v1/auth", { key: unscoped.key, query: { scopes: "anything" } })
    expect(all.status).toBe(200)
    expect(all.headers.get("x-key-environment")).toBe("live")
    expect(all.headers.get("x-key-scopes")).toBe("*")
    // The headers a proxy forwards never carry the secret.
    for (const [, value] of all.headers) expect(value).not.toContain(unscoped.key)
  })

  it("answers 401 and 403 as the contract's JSON errors", async () => {
    const { root } = await newTeam("auth-errors")
    const created = await createKey(api, root.key, {
      name: "k",
      scopes: ["read"],
      resources: ["example.com"]
    })
    expectError(await request(api, "GET", "/v1/auth"), 401, "missing_api_key")
    expectError(await request(api, "GET", "/v1/auth", { key: "sk_live_nope" }), 401, "invalid_api_key")
    expectError(
      await request(api, "GET", "/v1/auth", { key: withWrongChecksum(created.key) }),
      401,
      "invalid_api_key"
    )
    expectError(await request(api, "GET", "/v1/auth", { key: randomLookingKey() }), 401, "invalid_api_key")
    const lacking = await request(api, "GET", "/v1/auth", {
      key: created.key,
      query: { scopes: "read,write" }
    })
    expectError(lacking, 403, "insufficient_scope")
    expect(lacking.json.requiredScopes).toEqual(["write"])
    const outside = await request(api, "GET", "/v1/auth", {
      key: created.key,
      query: { resource: "example.org" }
    })
    expectError(outside, 403, "resource_not_allowed")
    expect(
      (await request(api, "GET", "/v1/auth", { key: created.key, query: { resource: "example.com" } })).status
    ).toBe(200)
    expectError(
      await request(api, "GET", "/v1/auth", { key: created.key, query: { scopes: "Not Valid" } }),
      400,
      "validation_error"
    )
    const expired = await expiredKey(root.teamId, ["read"])
    expectError(await request(api, "GET", "/v1/auth", { key: expired.key }), 401, "key_expired")
    expectOk(await request(api, "DELETE", `/v1/keys/${created.id}`, { key: root.key }))
    expectError(await request(api, "GET", "/v1/auth", { key: created.key }), 401, "invalid_api_key")
  })

  it("an expiring key works until it expires, then is refused even from the cache", async () => {
    const { root } = await newTeam("auth-expiry")
    const created = await createKey(api, root.key, {
      name: "short-lived",
      expiresAt: new Date(Date.now() + 1_500).toISOString()
    })
    // Warm the cache while it is valid.
    const first = await request(api, "GET", "/v1/auth", { key: created.key })
    if (first.status === 200) {
      const code = await waitFor(
        "the cached key to expire",
        async () => {
          const reply = await request(api, "GET", "/v1/auth", { key: created.key })
          return reply.status === 200 ? undefined : reply.json.code
        },
        { timeoutMillis: 10_000 }
      )
      expect(code).toBe("key_expired")
    } else {
      expectError(first, 401, "key_expired")
    }
    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expect(fetched.json.status).toBe("expired")
  })
})
