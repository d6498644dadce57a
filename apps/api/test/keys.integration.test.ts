/**
 * The management endpoints of contract section 4 over real HTTP: create, list (cursor pagination and
 * filters), get, update, revoke, roll and the audit log; every answer's exact shape, and no plaintext
 * key in any answer but the create and roll ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Credential,
  createKey,
  expectError,
  expectOk,
  KEY_PATTERN,
  PLAINTEXT_ANYWHERE,
  type Reply,
  type RunningApi,
  request,
  startApiOnFreshDatabase,
  uniqueTeam,
  verify,
  waitFor
} from "./helpers.js"

let api: RunningApi
/** Verifies keys of every team (admin + keys:verify) without counting as a key of theirs. */
let platform: Credential

beforeAll(async () => {
  api = await startApiOnFreshDatabase()
  platform = await api.rootKey(uniqueTeam("platform"), { admin: true })
}, 60_000)

afterAll(async () => {
  await api?.close()
})

const KEY_FIELDS = [
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
  "status",
  "teamId"
]

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/

// biome-ignore lint/suspicious/noExplicitAny: a Key object as parsed JSON
const expectKeyShape = (key: any): void => {
  expect(Object.keys(key).sort()).toEqual(KEY_FIELDS)
  expect(key.id).toMatch(/^key_/)
  expect(key.createdAt).toMatch(ISO)
  for (const field of ["expiresAt", "revokedAt", "lastUsedAt"]) {
    if (key[field] !== null) expect(key[field]).toMatch(ISO)
  }
  expect(["live", "test"]).toContain(key.environment)
  expect(["active", "expired", "revoked"]).toContain(key.status)
  expect(key.start).toMatch(/^sk_(live|test)_[0-9A-Za-z]{4}$/)
}

/** Every answer other than create/roll: no plaintext key anywhere in it. */
const expectNoPlaintext = (reply: Reply, ...secrets: ReadonlyArray<string>): void => {
  expect(reply.text).not.toMatch(PLAINTEXT_ANYWHERE)
  for (const secret of secrets) expect(reply.text).not.toContain(secret)
}

const newTeam = async (label: string): Promise<Credential> => api.rootKey(uniqueTeam(label))

describe("POST /v1/keys", { timeout: 30_000 }, () => {
  it("creates a key: 201, the Key object plus the plaintext once, defaults applied", async () => {
    const root = await newTeam("create")
    const reply = await request(api, "POST", "/v1/keys", { key: root.key, body: { name: "Production" } })
    expectOk(reply, 201)
    const { key, ...rest } = reply.json
    expect(key).toMatch(KEY_PATTERN)
    expectKeyShape(rest)
    expect(rest).toMatchObject({
      teamId: root.teamId,
      name: "Production",
      environment: "live",
      scopes: null,
      resources: null,
      metadata: null,
      status: "active",
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null
    })
    expect(key.startsWith(rest.start)).toBe(true)
    expect(key.startsWith("sk_live_")).toBe(true)
    // It works on its very first request.
    const verified = await verify(api, platform.key, { key })
    expect(verified.json).toMatchObject({ valid: true, code: "valid", status: 200 })
    expect(verified.json.key.id).toBe(rest.id)
  })

  it("stores every given field: test environment, scopes (deduplicated), resources, expiry, metadata", async () => {
    const root = await newTeam("create-fields")
    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString()
    const created = await createKey(api, root.key, {
      name: "CI",
      environment: "test",
      scopes: ["emails:send", "read", "emails:send"],
      resources: ["example.com", "example.org"],
      expiresAt,
      metadata: { owner: "ops", nested: { n: 1, list: [1, "two", null] } }
    })
    expect(created.key.startsWith("sk_test_")).toBe(true)
    expect(created).toMatchObject({
      environment: "test",
      scopes: ["emails:send", "read"],
      resources: ["example.com", "example.org"],
      expiresAt,
      metadata: { owner: "ops", nested: { n: 1, list: [1, "two", null] } },
      status: "active"
    })
    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expectOk(fetched)
    const { key: _secret, ...withoutSecret } = created
    expect(fetched.json).toEqual(withoutSecret)
    expectNoPlaintext(fetched, created.key)
  })

  it("every create mints a distinct key and id", async () => {
    const root = await newTeam("distinct")
    const created = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createKey(api, root.key, { name: `k${i}` }))
    )
    expect(new Set(created.map((key) => key.key)).size).toBe(10)
    expect(new Set(created.map((key) => key.id)).size).toBe(10)
  })

  it.each([
    ["missing name", {}, "name"],
    ["empty name", { name: "   " }, "name"],
    ["name too long", { name: "x".repeat(201) }, "name"],
    ["name with a control character", { name: "a\u0000b" }, "name"],
    ["name of the wrong type", { name: 42 }, "name"],
    ["unknown environment", { name: "x", environment: "prod" }, "environment"],
    ["malformed scope", { name: "x", scopes: ["Not A Scope"] }, "scopes"],
    ["scopes not an array", { name: "x", scopes: "read" }, "scopes"],
    ["too many scopes", { name: "x", scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) }, "scopes"],
    ["resource with whitespace", { name: "x", resources: ["a b"] }, "resources"],
    ["expiry in the past", { name: "x", expiresAt: "2001-01-01T00:00:00Z" }, "expiresAt"],
    ["expiry not a date", { name: "x", expiresAt: "tomorrow" }, "expiresAt"],
    ["metadata not an object", { name: "x", metadata: [1, 2] }, "metadata"],
    ["metadata over 8 KiB", { name: "x", metadata: { big: "y".repeat(9_000) } }, "metadata"],
    ["teamId with whitespace", { name: "x", teamId: "a b" }, "teamId"]
  ])("refuses %s with 400 validation_error naming the field", async (_label, body, field) => {
    const root = await newTeam("invalid")
    const reply = await request(api, "POST", "/v1/keys", { key: root.key, body })
    expectError(reply, 400, "validation_error")
    expect(reply.json.message).toContain(field)
  })

  it("refuses bad JSON with 400 validation_error", async () => {
    const root = await newTeam("bad-json")
    const reply = await request(api, "POST", "/v1/keys", {
      key: root.key,
      rawBody: '{"name": "x",',
      headers: { "content-type": "application/json" }
    })
    expectError(reply, 400, "validation_error")
  })

  it("another teamId needs admin: 403 insufficient_scope with requiredScopes [admin]", async () => {
    const root = await newTeam("no-admin")
    const reply = await request(api, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "x", teamId: uniqueTeam("victim") }
    })
    expectError(reply, 403, "insufficient_scope")
    expect(reply.json.requiredScopes).toEqual(["admin"])
  })

  it("its own teamId given explicitly is fine without admin", async () => {
    const root = await newTeam("own-team")
    const created = await createKey(api, root.key, { name: "x", teamId: root.teamId })
    expect(created.teamId).toBe(root.teamId)
  })

  it("admin creates a key in any team", async () => {
    const target = uniqueTeam("target")
    const created = await createKey(api, platform.key, { name: "for target", teamId: target })
    expect(created.teamId).toBe(target)
    const targetRoot = await api.rootKey(target)
    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: targetRoot.key })
    expectOk(fetched)
    expect(fetched.json.teamId).toBe(target)
  })
})

describe("GET /v1/keys", { timeout: 60_000 }, () => {
  it("pages through 45 keys 20 at a time, newest first, with no duplicates or gaps", async () => {
    const team = uniqueTeam("paging")
    const created: Array<string> = []
    for (let i = 0; i < 45; i++) {
      const key = await createKey(api, platform.key, { name: `page ${i}`, teamId: team })
      created.push(key.id)
    }
    const seen: Array<{ id: string; createdAt: string }> = []
    const sizes: Array<number> = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const reply = await request(api, "GET", "/v1/keys", {
        key: platform.key,
        query: { teamId: team, limit: 20, cursor }
      })
      expectOk(reply)
      expect(Object.keys(reply.json).sort()).toEqual(["data", "nextCursor"])
      expectNoPlaintext(reply)
      for (const key of reply.json.data) {
        expectKeyShape(key)
        expect(key.teamId).toBe(team)
      }
      sizes.push(reply.json.data.length)
      seen.push(...reply.json.data)
      if (reply.json.nextCursor === null) break
      expect(typeof reply.json.nextCursor).toBe("string")
      cursor = reply.json.nextCursor
    }
    expect(sizes).toEqual([20, 20, 5])
    expect(seen.map((key) => key.id).sort()).toEqual([...created].sort())
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i - 1]!.createdAt >= seen[i]!.createdAt).toBe(true)
    }
    // Newest first: of two keys created one after the other (at distinct instants), the later is listed first.
    const position = new Map(seen.map((key, index) => [key.id, index]))
    const createdAt = new Map(seen.map((key) => [key.id, key.createdAt]))
    for (let i = 1; i < created.length; i++) {
      const [earlier, later] = [created[i - 1]!, created[i]!]
      if (createdAt.get(earlier) !== createdAt.get(later)) {
        expect(position.get(later)!).toBeLessThan(position.get(earlier)!)
      }
    }
  })

  it("defaults to 20 per page and accepts 1 to 100", async () => {
    const team = uniqueTeam("limits")
    for (let i = 0; i < 22; i++) await createKey(api, platform.key, { name: `l${i}`, teamId: team })
    const byDefault = await request(api, "GET", "/v1/keys", { key: platform.key, query: { teamId: team } })
    expect(byDefault.json.data).toHaveLength(20)
    expect(byDefault.json.nextCursor).not.toBeNull()
    const one = await request(api, "GET", "/v1/keys", {
      key: platform.key,
      query: { teamId: team, limit: 1 }
    })
    expect(one.json.data).toHaveLength(1)
    const all = await request(api, "GET", "/v1/keys", {
      key: platform.key,
      query: { teamId: team, limit: 100 }
    })
    expect(all.json.data).toHaveLength(22)
    expect(all.json.nextCursor).toBeNull()
  })

  it.each([
    ["limit 0", { limit: 0 }],
    ["limit 101", { limit: 101 }],
    ["limit not a number", { limit: "ten" }],
    ["limit fractional", { limit: "2.5" }],
    ["status unknown", { status: "deleted" }],
    ["environment unknown", { environment: "staging" }],
    ["expiringWithin without unit", { expiringWithin: "7" }],
    ["expiringWithin in words", { expiringWithin: "7 days" }],
    ["cursor not issued by the API", { cursor: "bm90IGEgY3Vyc29y" }]
  ])("refuses %s with 400 validation_error", async (_label, query) => {
    const root = await newTeam("list-invalid")
    const reply = await request(api, "GET", "/v1/keys", { key: root.key, query })
    expectError(reply, 400, "validation_error")
  })

  it("filters by status, environment and expiringWithin", async () => {
    const root = await newTeam("filters")
    const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString()
    const live = await createKey(api, root.key, { name: "live, no expiry" })
    const test = await createKey(api, root.key, { name: "test", environment: "test" })
    const soon = await createKey(api, root.key, { name: "expires in 1h", expiresAt: inHours(1) })
    const days = await createKey(api, root.key, { name: "expires in 2d", expiresAt: inHours(48) })
    const month = await createKey(api, root.key, { name: "expires in 30d", expiresAt: inHours(720) })
    const revokedSoon = await createKey(api, root.key, { name: "revoked, 1h", expiresAt: inHours(1) })
    expectOk(await request(api, "DELETE", `/v1/keys/${revokedSoon.id}`, { key: root.key }))
    const expiring = await createKey(api, root.key, {
      name: "expires at once",
      expiresAt: new Date(Date.now() + 1_000).toISOString()
    })
    await waitFor(
      "the short key to expire",
      async () => {
        const reply = await request(api, "GET", `/v1/keys/${expiring.id}`, { key: root.key })
        return reply.json.status === "expired" ? true : undefined
      },
      { timeoutMillis: 10_000 }
    )

    const ids = async (query: Record<string, string>): Promise<Array<string>> => {
      const reply = await request(api, "GET", "/v1/keys", {
        key: root.key,
        query: { limit: "100", ...query }
      })
      expectOk(reply)
      for (const key of reply.json.data) expect(key.teamId).toBe(root.teamId)
      return reply.json.data.map((key: { id: string }) => key.id).sort()
    }
    const sorted = (...list: Array<string>) => [...list].sort()

    expect(await ids({ status: "revoked" })).toEqual([revokedSoon.id])
    expect(await ids({ status: "expired" })).toEqual([expiring.id])
    expect(await ids({ status: "active" })).toEqual(
      sorted(root.id, live.id, test.id, soon.id, days.id, month.id)
    )
    expect(await ids({ environment: "test" })).toEqual([test.id])
    expect(await ids({ environment: "live", status: "active" })).toEqual(
      sorted(root.id, live.id, soon.id, days.id, month.id)
    )
    expect(await ids({ expiringWithin: "24h" })).toEqual([soon.id])
    expect(await ids({ expiringWithin: "7d" })).toEqual(sorted(soon.id, days.id))
    expect(await ids({ expiringWithin: "90d" })).toEqual(sorted(soon.id, days.id, month.id))
    expect(await ids({ expiringWithin: "30m" })).toEqual([])
    const statuses = await request(api, "GET", "/v1/keys", { key: root.key, query: { limit: "100" } })
    const statusOf = Object.fromEntries(
      statuses.json.data.map((key: { id: string; status: string }) => [key.id, key.status])
    )
    expect(statusOf[revokedSoon.id]).toBe("revoked")
    expect(statusOf[expiring.id]).toBe("expired")
    expect(statusOf[live.id]).toBe("active")
  })

  it("lists only the caller's team; admin lists another team with teamId; others get 403 [admin]", async () => {
    const a = await newTeam("list-a")
    const b = await newTeam("list-b")
    const keyOfB = await createKey(api, b.key, { name: "b's" })
    const listA = await request(api, "GET", "/v1/keys", { key: a.key })
    expectOk(listA)
    expect(listA.json.data.map((key: { id: string }) => key.id)).toEqual([a.id])

    const asAdmin = await request(api, "GET", "/v1/keys", { key: platform.key, query: { teamId: b.teamId } })
    expectOk(asAdmin)
    expect(asAdmin.json.data.map((key: { id: string }) => key.id).sort()).toEqual([b.id, keyOfB.id].sort())

    const forbidden = await request(api, "GET", "/v1/keys", { key: a.key, query: { teamId: b.teamId } })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
  })
})

describe("GET /v1/keys/{id}", { timeout: 30_000 }, () => {
  it("answers the key; 404 not_found for an unknown id", async () => {
    const root = await newTeam("get")
    const created = await createKey(api, root.key, { name: "one" })
    const reply = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expectOk(reply)
    expectKeyShape(reply.json)
    expect(reply.json.id).toBe(created.id)
    expectNoPlaintext(reply, created.key)
    expectError(
      await request(api, "GET", "/v1/keys/key_doesNotExist0000", { key: root.key }),
      404,
      "not_found"
    )
  })

  it("another team's key id is 404 not_found, answered exactly like an unknown id", async () => {
    const a = await newTeam("get-a")
    const b = await newTeam("get-b")
    const keyOfB = await createKey(api, b.key, { name: "b's" })
    const unknownId = `key_${"Z".repeat(16)}`
    const foreign = await request(api, "GET", `/v1/keys/${keyOfB.id}`, { key: a.key })
    const unknown = await request(api, "GET", `/v1/keys/${unknownId}`, { key: a.key })
    expectError(foreign, 404, "not_found")
    expectError(unknown, 404, "not_found")
    expect(foreign.text.replace(keyOfB.id, "ID")).toBe(unknown.text.replace(unknownId, "ID"))
    expect(foreign.text).not.toContain(b.teamId)
    // Even an admin key needs teamId to see it: it acts on its own team by default.
    expectError(await request(api, "GET", `/v1/keys/${keyOfB.id}`, { key: platform.key }), 404, "not_found")
    const asAdmin = await request(api, "GET", `/v1/keys/${keyOfB.id}`, {
      key: platform.key,
      query: { teamId: b.teamId }
    })
    expectOk(asAdmin)
    expect(asAdmin.json.id).toBe(keyOfB.id)
    const forbidden = await request(api, "GET", `/v1/keys/${keyOfB.id}`, {
      key: a.key,
      query: { teamId: b.teamId }
    })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
  })
})

describe("PATCH /v1/keys/{id}", { timeout: 30_000 }, () => {
  it("changes name, scopes, resources, expiry and metadata; null clears", async () => {
    const root = await newTeam("patch")
    const created = await createKey(api, root.key, { name: "before", scopes: ["send"] })
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString()
    const reply = await request(api, "PATCH", `/v1/keys/${created.id}`, {
      key: root.key,
      body: {
        name: "after",
        scopes: ["read", "send", "read"],
        resources: ["example.com"],
        expiresAt,
        metadata: { tier: "gold" }
      }
    })
    expectOk(reply)
    expectKeyShape(reply.json)
    expectNoPlaintext(reply, created.key)
    expect(reply.json).toMatchObject({
      id: created.id,
      name: "after",
      scopes: ["read", "send"],
      resources: ["example.com"],
      expiresAt,
      metadata: { tier: "gold" },
      status: "active",
      start: created.start,
      environment: created.environment,
      createdAt: created.createdAt
    })
    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expect(fetched.json).toMatchObject({
      name: "after",
      scopes: ["read", "send"],
      metadata: { tier: "gold" }
    })

    const cleared = await request(api, "PATCH", `/v1/keys/${created.id}`, {
      key: root.key,
      body: { scopes: null, resources: null, expiresAt: null, metadata: null }
    })
    expectOk(cleared)
    expect(cleared.json).toMatchObject({
      name: "after",
      scopes: null,
      resources: null,
      expiresAt: null,
      metadata: null
    })
  })

  it("a change takes effect on the next verification", async () => {
    const root = await newTeam("patch-verify")
    const created = await createKey(api, root.key, { name: "k", scopes: ["send"] })
    expect((await verify(api, platform.key, { key: created.key, scopes: ["send"] })).json.valid).toBe(true)
    expectOk(
      await request(api, "PATCH", `/v1/keys/${created.id}`, { key: root.key, body: { scopes: ["read"] } })
    )
    const after = await verify(api, platform.key, { key: created.key, scopes: ["send"] })
    expect(after.json).toMatchObject({ valid: false, code: "insufficient_scope", requiredScopes: ["send"] })
    expectOk(
      await request(api, "PATCH", `/v1/keys/${created.id}`, {
        key: root.key,
        body: { resources: ["example.com"] }
      })
    )
    const restricted = await verify(api, platform.key, {
      key: created.key,
      scopes: ["read"],
      resource: "example.org"
    })
    expect(restricted.json).toMatchObject({ valid: false, code: "resource_not_allowed", status: 403 })
  })

  it("refuses bad input with 400 and unknown or foreign ids with 404", async () => {
    const root = await newTeam("patch-errors")
    const other = await newTeam("patch-other")
    const created = await createKey(api, root.key, { name: "k" })
    const foreign = await createKey(api, other.key, { name: "theirs" })
    for (const body of [
      { name: "" },
      { scopes: ["BAD"] },
      { expiresAt: "2001-01-01T00:00:00Z" },
      { metadata: "text" },
      { name: 7 }
    ]) {
      expectError(
        await request(api, "PATCH", `/v1/keys/${created.id}`, { key: root.key, body }),
        400,
        "validation_error"
      )
    }
    expectError(
      await request(api, "PATCH", `/v1/keys/${created.id}`, {
        key: root.key,
        rawBody: "{nope",
        headers: { "content-type": "application/json" }
      }),
      400,
      "validation_error"
    )
    expectError(
      await request(api, "PATCH", "/v1/keys/key_unknown000000000", { key: root.key, body: { name: "x" } }),
      404,
      "not_found"
    )
    expectError(
      await request(api, "PATCH", `/v1/keys/${foreign.id}`, { key: root.key, body: { name: "hijacked" } }),
      404,
      "not_found"
    )
    const untouched = await request(api, "GET", `/v1/keys/${foreign.id}`, { key: other.key })
    expect(untouched.json.name).toBe("theirs")
    const forbidden = await request(api, "PATCH", `/v1/keys/${foreign.id}`, {
      key: root.key,
      query: { teamId: other.teamId },
      body: { name: "hijacked" }
    })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
    const asAdmin = await request(api, "PATCH", `/v1/keys/${foreign.id}`, {
      key: platform.key,
      query: { teamId: other.teamId },
      body: { name: "renamed by the platform" }
    })
    expectOk(asAdmin)
    expect(asAdmin.json.name).toBe("renamed by the platform")
  })
})

describe("DELETE /v1/keys/{id}", { timeout: 30_000 }, () => {
  it("revokes at once, is idempotent (same revokedAt), and the key is refused on the next verify", async () => {
    const root = await newTeam("revoke")
    const created = await createKey(api, root.key, { name: "doomed" })
    // Warm the cache first: revocation must evict it.
    expect((await verify(api, platform.key, { key: created.key })).json.valid).toBe(true)
    const first = await request(api, "DELETE", `/v1/keys/${created.id}`, { key: root.key })
    expectOk(first)
    expectKeyShape(first.json)
    expectNoPlaintext(first, created.key)
    expect(first.json.status).toBe("revoked")
    expect(first.json.revokedAt).toMatch(ISO)
    const refused = await verify(api, platform.key, { key: created.key })
    expect(refused.status).toBe(200)
    expect(refused.json).toEqual({ valid: false, code: "invalid_api_key", status: 401 })

    const second = await request(api, "DELETE", `/v1/keys/${created.id}`, { key: root.key })
    expectOk(second)
    expect(second.json.status).toBe("revoked")
    expect(second.json.revokedAt).toBe(first.json.revokedAt)

    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expect(fetched.json).toMatchObject({ status: "revoked", revokedAt: first.json.revokedAt })
    // The repeat was a no-op: one revocation in the audit log.
    const audit = await request(api, "GET", "/v1/audit", { key: root.key, query: { keyId: created.id } })
    const revocations = audit.json.data.filter((event: { action: string }) => event.action === "key.revoked")
    expect(revocations).toHaveLength(1)
  })

  it("a revoked root key can no longer manage anything", async () => {
    const root = await newTeam("revoke-self")
    expectOk(await request(api, "DELETE", `/v1/keys/${root.id}`, { key: root.key }))
    expectError(await request(api, "GET", "/v1/keys", { key: root.key }), 401, "invalid_api_key")
  })

  it("404 not_found for unknown and foreign ids, and the foreign key keeps working", async () => {
    const root = await newTeam("revoke-errors")
    const other = await newTeam("revoke-other")
    const foreign = await createKey(api, other.key, { name: "theirs" })
    expectError(
      await request(api, "DELETE", "/v1/keys/key_unknown000000000", { key: root.key }),
      404,
      "not_found"
    )
    expectError(await request(api, "DELETE", `/v1/keys/${foreign.id}`, { key: root.key }), 404, "not_found")
    const forbidden = await request(api, "DELETE", `/v1/keys/${foreign.id}`, {
      key: root.key,
      query: { teamId: other.teamId }
    })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
    expect((await verify(api, platform.key, { key: foreign.key })).json.valid).toBe(true)
    // The platform's admin key may revoke it.
    const asAdmin = await request(api, "DELETE", `/v1/keys/${foreign.id}`, {
      key: platform.key,
      query: { teamId: other.teamId }
    })
    expectOk(asAdmin)
    expect(asAdmin.json.status).toBe("revoked")
    expect((await verify(api, platform.key, { key: foreign.key })).json.code).toBe("invalid_api_key")
  })
})

describe("POST /v1/keys/{id}/roll", { timeout: 30_000 }, () => {
  const settingsOf = (key: Record<string, unknown>) => ({
    teamId: key.teamId,
    name: key.name,
    environment: key.environment,
    scopes: key.scopes,
    resources: key.resources,
    metadata: key.metadata,
    expiresAt: key.expiresAt
  })

  it("gracePeriodSeconds 0: a new key with the same settings; the old one is invalid at once", async () => {
    const root = await newTeam("roll-now")
    const old = await createKey(api, root.key, {
      name: "rolled",
      environment: "test",
      scopes: ["send"],
      resources: ["example.com"],
      metadata: { v: 1 },
      expiresAt: new Date(Date.now() + 10 * 86_400_000).toISOString()
    })
    expect((await verify(api, platform.key, { key: old.key })).json.valid).toBe(true)
    const reply = await request(api, "POST", `/v1/keys/${old.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 0 }
    })
    expectOk(reply, 201)
    expect(reply.json.key).toMatch(KEY_PATTERN)
    expect(reply.json.key).not.toBe(old.key)
    expect(reply.json.id).not.toBe(old.id)
    const { key: newSecret, ...replacement } = reply.json
    expectKeyShape(replacement)
    expect(newSecret.startsWith("sk_test_")).toBe(true)
    expect(settingsOf(replacement)).toEqual(settingsOf(old))
    expect(replacement.status).toBe("active")

    expect((await verify(api, platform.key, { key: old.key })).json).toEqual({
      valid: false,
      code: "invalid_api_key",
      status: 401
    })
    const fresh = await verify(api, platform.key, { key: newSecret })
    expect(fresh.json).toMatchObject({ valid: true, code: "valid" })
    expect(fresh.json.key.id).toBe(replacement.id)
    const oldNow = await request(api, "GET", `/v1/keys/${old.id}`, { key: root.key })
    expect(oldNow.json.status).toBe("revoked")
    expectNoPlaintext(oldNow, old.key, newSecret)
  })

  it("no body or an empty one means gracePeriodSeconds 0", async () => {
    const root = await newTeam("roll-default")
    const old = await createKey(api, root.key, { name: "r" })
    const reply = await request(api, "POST", `/v1/keys/${old.id}/roll`, { key: root.key, body: {} })
    expectOk(reply, 201)
    expect((await verify(api, platform.key, { key: old.key })).json.code).toBe("invalid_api_key")
  })

  it("gracePeriodSeconds 3600: both keys are valid; the old one now expires within the hour", async () => {
    const root = await newTeam("roll-grace")
    const old = await createKey(api, root.key, { name: "graceful", scopes: ["send"] })
    const before = Date.now()
    const reply = await request(api, "POST", `/v1/keys/${old.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 3600 }
    })
    expectOk(reply, 201)
    const oldResult = await verify(api, platform.key, { key: old.key, scopes: ["send"] })
    const newResult = await verify(api, platform.key, { key: reply.json.key, scopes: ["send"] })
    expect(oldResult.json).toMatchObject({ valid: true, code: "valid" })
    expect(newResult.json).toMatchObject({ valid: true, code: "valid" })
    const oldNow = await request(api, "GET", `/v1/keys/${old.id}`, { key: root.key })
    expect(oldNow.json.status).toBe("active")
    const endsAt = Date.parse(oldNow.json.expiresAt)
    expect(endsAt).toBeGreaterThan(before + 3_500_000)
    expect(endsAt).toBeLessThanOrEqual(Date.now() + 3_600_000)
    // A key already rolled cannot be rolled again.
    const again = await request(api, "POST", `/v1/keys/${old.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 0 }
    })
    expectError(again, 400, "validation_error")
  })

  it("refuses bad grace periods, revoked keys, unknown and foreign ids", async () => {
    const root = await newTeam("roll-errors")
    const other = await newTeam("roll-other")
    const key = await createKey(api, root.key, { name: "k" })
    const foreign = await createKey(api, other.key, { name: "theirs" })
    for (const body of [
      { gracePeriodSeconds: -1 },
      { gracePeriodSeconds: 1.5 },
      { gracePeriodSeconds: 2_592_001 },
      { gracePeriodSeconds: "3600" }
    ]) {
      expectError(
        await request(api, "POST", `/v1/keys/${key.id}/roll`, { key: root.key, body }),
        400,
        "validation_error"
      )
    }
    expectError(
      await request(api, "POST", "/v1/keys/key_unknown000000000/roll", { key: root.key, body: {} }),
      404,
      "not_found"
    )
    expectError(
      await request(api, "POST", `/v1/keys/${foreign.id}/roll`, { key: root.key, body: {} }),
      404,
      "not_found"
    )
    expect((await verify(api, platform.key, { key: foreign.key })).json.valid).toBe(true)
    const forbidden = await request(api, "POST", `/v1/keys/${foreign.id}/roll`, {
      key: root.key,
      query: { teamId: other.teamId },
      body: {}
    })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
    expectOk(await request(api, "DELETE", `/v1/keys/${key.id}`, { key: root.key }))
    expectError(
      await request(api, "POST", `/v1/keys/${key.id}/roll`, { key: root.key, body: {} }),
      400,
      "validation_error"
    )
  })
})

describe("GET /v1/audit", { timeout: 30_000 }, () => {
  it("records create, update, roll and revoke newest first, with the acting key and no secret", async () => {
    const root = await newTeam("audit")
    const created = await createKey(api, root.key, { name: "audited", scopes: ["send"] })
    expectOk(
      await request(api, "PATCH", `/v1/keys/${created.id}`, { key: root.key, body: { name: "renamed" } })
    )
    const rolled = await request(api, "POST", `/v1/keys/${created.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 60 }
    })
    expectOk(rolled, 201)
    expectOk(await request(api, "DELETE", `/v1/keys/${rolled.json.id}`, { key: root.key }))

    const reply = await request(api, "GET", "/v1/audit", { key: root.key })
    expectOk(reply)
    expect(Object.keys(reply.json).sort()).toEqual(["data", "nextCursor"])
    expectNoPlaintext(reply, created.key, rolled.json.key, root.key)
    const events = reply.json.data
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual([
        "action",
        "actorKeyId",
        "at",
        "changes",
        "id",
        "keyId",
        "teamId"
      ])
      expect(event.teamId).toBe(root.teamId)
      expect(event.at).toMatch(ISO)
    }
    const ofThese = events
      .filter((event: { keyId: string }) => event.keyId === created.id || event.keyId === rolled.json.id)
      .map((event: { action: string; keyId: string; actorKeyId: string | null }) => [
        event.action,
        event.keyId,
        event.actorKeyId
      ])
    expect(ofThese).toEqual([
      ["key.revoked", rolled.json.id, root.id],
      ["key.rolled", created.id, root.id],
      ["key.updated", created.id, root.id],
      ["key.created", created.id, root.id]
    ])
    for (let i = 1; i < events.length; i++) expect(events[i - 1].at >= events[i].at).toBe(true)
    const update = events.find((event: { action: string }) => event.action === "key.updated")
    expect(update.changes).toMatchObject({ name: "renamed" })
    // The root key's own creation (by bootstrap, outside the API) has no actor.
    const bootstrap = events.find((event: { keyId: string }) => event.keyId === root.id)
    expect(bootstrap).toMatchObject({ action: "key.created", actorKeyId: null })
  })

  it("filters by keyId and pages with a cursor", async () => {
    const root = await newTeam("audit-paging")
    const key = await createKey(api, root.key, { name: "v0" })
    for (let i = 1; i <= 4; i++) {
      expectOk(await request(api, "PATCH", `/v1/keys/${key.id}`, { key: root.key, body: { name: `v${i}` } }))
    }
    const seen: Array<string> = []
    let cursor: string | undefined
    for (let page = 0; page < 10; page++) {
      const reply = await request(api, "GET", "/v1/audit", {
        key: root.key,
        query: { keyId: key.id, limit: 2, cursor }
      })
      expectOk(reply)
      expect(reply.json.data.length).toBeLessThanOrEqual(2)
      for (const event of reply.json.data) expect(event.keyId).toBe(key.id)
      seen.push(...reply.json.data.map((event: { id: string }) => event.id))
      if (reply.json.nextCursor === null) break
      cursor = reply.json.nextCursor
    }
    expect(seen).toHaveLength(5)
    expect(new Set(seen).size).toBe(5)
  })

  it("stays within the team: another team's keyId shows nothing, teamId needs admin", async () => {
    const a = await newTeam("audit-a")
    const b = await newTeam("audit-b")
    const keyOfB = await createKey(api, b.key, { name: "b's" })
    const peek = await request(api, "GET", "/v1/audit", { key: a.key, query: { keyId: keyOfB.id } })
    expectOk(peek)
    expect(peek.json.data).toEqual([])
    const forbidden = await request(api, "GET", "/v1/audit", { key: a.key, query: { teamId: b.teamId } })
    expectError(forbidden, 403, "insufficient_scope")
    expect(forbidden.json.requiredScopes).toEqual(["admin"])
    const asAdmin = await request(api, "GET", "/v1/audit", {
      key: platform.key,
      query: { teamId: b.teamId, keyId: keyOfB.id }
    })
    expectOk(asAdmin)
    expect(asAdmin.json.data.map((event: { action: string }) => event.action)).toEqual(["key.created"])
    expectError(
      await request(api, "GET", "/v1/audit", { key: a.key, query: { limit: 0 } }),
      400,
      "validation_error"
    )
    expectError(
      await request(api, "GET", "/v1/audit", { key: a.key, query: { cursor: "garbage" } }),
      400,
      "validation_error"
    )
  })
})

describe("plaintext keys", { timeout: 30_000 }, () => {
  it("appear only in the create and roll answers: never in list, get, update, revoke or audit", async () => {
    const root = await newTeam("plaintext")
    const secrets: Array<string> = [root.key]
    const a = await createKey(api, root.key, { name: "a", metadata: { note: "hello" } })
    const b = await createKey(api, root.key, { name: "b", environment: "test" })
    secrets.push(a.key, b.key)
    const rolled = await request(api, "POST", `/v1/keys/${a.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 60 }
    })
    secrets.push(rolled.json.key)
    await verify(api, platform.key, { key: b.key })
    const replies = [
      await request(api, "GET", "/v1/keys", { key: root.key, query: { limit: 100 } }),
      await request(api, "GET", `/v1/keys/${a.id}`, { key: root.key }),
      await request(api, "GET", `/v1/keys/${rolled.json.id}`, { key: root.key }),
      await request(api, "PATCH", `/v1/keys/${b.id}`, { key: root.key, body: { name: "b2" } }),
      await request(api, "DELETE", `/v1/keys/${b.id}`, { key: root.key }),
      await request(api, "DELETE", `/v1/keys/${b.id}`, { key: root.key }),
      await request(api, "GET", "/v1/audit", { key: root.key, query: { limit: 100 } }),
      await request(api, "GET", "/v1/keys", { key: root.key, query: { status: "revoked" } }),
      await verify(api, platform.key, { key: rolled.json.key })
    ]
    for (const reply of replies) {
      expect(reply.status).toBe(200)
      expectNoPlaintext(reply, ...secrets)
    }
  })
})
