import { inspect } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  AuthenticationError,
  type Key,
  Keys,
  KeysError,
  NotFoundError,
  PermissionError,
  ValidationError
} from "../src/index.js"
import { type RunningApi, startApi, uniqueTeam } from "./helpers.js"

const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{48}$/
const PLAINTEXT_ANYWHERE = /sk_(live|test)_[0-9A-Za-z]{48}/

let api: RunningApi
let team: string
let rootKey: string
let keys: Keys

beforeAll(async () => {
  api = await startApi()
  team = uniqueTeam("acme")
  rootKey = await api.rootKey(team)
  keys = new Keys({ apiKey: rootKey, baseUrl: api.url })
}, 60_000)

afterAll(() => api?.close(), 30_000)

/** What a caught promise rejected with. */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error
  )

describe("Keys (Promise facade) against a running API", () => {
  it("creates, gets, updates, rolls, verifies and revokes a key", async () => {
    const expiresAt = new Date(Date.now() + 30 * 86_400_000)
    const created = await keys.create({
      name: "Production",
      environment: "test",
      scopes: ["send", "read"],
      resources: ["example.com"],
      expiresAt,
      metadata: { plan: "pro" }
    })
    expect(created.key).toMatch(KEY_PATTERN)
    expect(created.key.startsWith(created.start)).toBe(true)
    expect(created).toMatchObject({
      teamId: team,
      name: "Production",
      environment: "test",
      scopes: ["send", "read"],
      resources: ["example.com"],
      metadata: { plan: "pro" },
      status: "active",
      expiresAt: expiresAt.toISOString(),
      revokedAt: null,
      lastUsedAt: null
    })
    expect(typeof created.createdAt).toBe("string")

    const fetched = await keys.get(created.id)
    expect(fetched).toEqual({ ...withoutKey(created) })
    expect(JSON.stringify(fetched)).not.toMatch(PLAINTEXT_ANYWHERE)

    const updated = await keys.update(created.id, { name: "Renamed", scopes: ["send"], expiresAt: null })
    expect(updated).toMatchObject({ id: created.id, name: "Renamed", scopes: ["send"], expiresAt: null })

    const valid = await keys.verify(created.key, { scopes: ["send"], resource: "example.com" })
    expect(valid).toMatchObject({ valid: true, code: "valid", status: 200, key: { id: created.id } })

    const rolled = await keys.roll(created.id, { gracePeriodSeconds: 3600 })
    expect(rolled.key).toMatch(KEY_PATTERN)
    expect(rolled.id).not.toBe(created.id)
    expect(rolled).toMatchObject({ name: "Renamed", scopes: ["send"], environment: "test" })
    expect((await keys.verify(rolled.key)).valid).toBe(true)
    expect((await keys.verify(created.key)).valid).toBe(true)

    const revoked = await keys.revoke(rolled.id)
    expect(revoked).toMatchObject({ id: rolled.id, status: "revoked" })
    expect(typeof revoked.revokedAt).toBe("string")
    expect(await keys.revoke(rolled.id)).toMatchObject({ status: "revoked" })

    const refused = await keys.verify(rolled.key)
    expect(refused).toEqual({ valid: false, code: "invalid_api_key", status: 401 })
  })

  it("answers an invalid or under-scoped key as a result, not an error", async () => {
    const created = await keys.create({ name: "reader", scopes: ["read"] })
    expect(await keys.verify(created.key, { scopes: ["send"] })).toMatchObject({
      valid: false,
      code: "insufficient_scope",
      status: 403,
      requiredScopes: ["send"]
    })
    expect(await keys.verify("sk_live_not_a_real_key")).toEqual({
      valid: false,
      code: "invalid_api_key",
      status: 401
    })
  })

  it("lists one page with a cursor, filtered", async () => {
    const listTeam = uniqueTeam("pages")
    const listKeys = new Keys({ apiKey: await api.rootKey(listTeam), baseUrl: api.url })
    for (const name of ["one", "two", "three"]) await listKeys.create({ name, environment: "test" })
    const first = await listKeys.list({ limit: 2, environment: "test" })
    expect(first.data.map((key) => key.name)).toEqual(["three", "two"])
    expect(first.nextCursor).toEqual(expect.any(String))
    const second = await listKeys.list({ limit: 2, environment: "test", cursor: first.nextCursor! })
    expect(second.data.map((key) => key.name)).toEqual(["one"])
    expect(second.nextCursor).toBeNull()
    expect(JSON.stringify([first, second])).not.toMatch(PLAINTEXT_ANYWHERE)
    expect((await listKeys.list({ status: "revoked" })).data).toEqual([])
  })

  it("iterates 250 keys across cursor pages with listAll", async () => {
    const bulkTeam = uniqueTeam("bulk")
    const bulk = new Keys({ apiKey: await api.rootKey(bulkTeam), baseUrl: api.url })
    const created = new Set<string>()
    for (let batch = 0; batch < 25; batch++) {
      const made = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          bulk.create({ name: `bulk ${batch * 10 + i}`, environment: "test" })
        )
      )
      for (const key of made) created.add(key.id)
    }
    const seen: Array<Key> = []
    for await (const key of bulk.listAll({ environment: "test" })) seen.push(key)
    expect(seen).toHaveLength(250)
    expect(new Set(seen.map((key) => key.id))).toEqual(created)
    const small: Array<string> = []
    for await (const key of bulk.listAll({ environment: "test", limit: 7 })) {
      small.push(key.id)
      if (small.length === 20) break
    }
    expect(small).toEqual(seen.slice(0, 20).map((key) => key.id))
  }, 60_000)

  it("throws AuthenticationError on a 401 of its own key, with the request id", async () => {
    const stranger = new Keys({ apiKey: "sk_live_unknown", baseUrl: api.url })
    const error = await rejection(stranger.list())
    expect(error).toBeInstanceOf(AuthenticationError)
    expect(error).toBeInstanceOf(KeysError)
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", name: "AuthenticationError" })
    expect((error as KeysError).requestId).toMatch(/^req_/)
    expect((error as KeysError).message.length).toBeGreaterThan(0)
    // verify is a result for the key under test, but the SDK's own key still fails as an error.
    expect(await rejection(stranger.verify("sk_live_x"))).toBeInstanceOf(AuthenticationError)
  })

  it("throws PermissionError with requiredScopes on a 403", async () => {
    const writerOnly = await api.keyWith(team, ["keys:write"])
    const limited = new Keys({ apiKey: writerOnly, baseUrl: api.url })
    const error = await rejection(limited.list())
    expect(error).toBeInstanceOf(PermissionError)
    expect(error).toMatchObject({ status: 403, code: "insufficient_scope", requiredScopes: ["keys:read"] })
    const verifyError = await rejection(limited.verify("sk_live_x"))
    expect(verifyError).toMatchObject({ status: 403, requiredScopes: ["keys:verify"] })
    const otherTeam = await rejection(keys.list({ teamId: uniqueTeam("other") }))
    expect(otherTeam).toMatchObject({ status: 403, requiredScopes: ["admin"] })
  })

  it("throws NotFoundError on a 404 and ValidationError on a 400", async () => {
    const calls = [
      () => keys.get("key_missing"),
      () => keys.revoke("key_missing"),
      () => keys.roll("key_missing")
    ]
    for (const call of calls) {
      const error = await rejection(call())
      expect(error).toBeInstanceOf(NotFoundError)
      expect(error).toMatchObject({ status: 404, code: "not_found" })
    }
    const past = await rejection(keys.create({ name: "late", expiresAt: "2001-01-01T00:00:00Z" }))
    expect(past).toBeInstanceOf(ValidationError)
    expect(past).toMatchObject({ status: 400, code: "validation_error", field: "expiresAt" })
    expect((past as KeysError).requestId).toMatch(/^req_/)
    const badLimit = await rejection(keys.list({ limit: 500 }))
    expect(badLimit).toMatchObject({ status: 400, code: "validation_error", field: "limit" })
    const badDate = await rejection(keys.create({ name: "x", expiresAt: "tomorrow" }))
    expect(badDate).toMatchObject({ status: 400, field: "expiresAt", requestId: undefined })
    const badWindow = await rejection(keys.list({ expiringWithin: "a week" }))
    expect(badWindow).toMatchObject({ status: 400, field: "expiringWithin" })
  })

  it("filters by expiry window", async () => {
    const windowTeam = uniqueTeam("expiry")
    const scoped = new Keys({ apiKey: await api.rootKey(windowTeam), baseUrl: api.url })
    const soon = await scoped.create({ name: "soon", expiresAt: new Date(Date.now() + 3_600_000) })
    await scoped.create({ name: "later", expiresAt: new Date(Date.now() + 30 * 86_400_000) })
    const page = await scoped.list({ expiringWithin: "24h" })
    expect(page.data.map((key) => key.id)).toEqual([soon.id])
  })

  it("reads KEYS_API_KEY and KEYS_API_URL, and refuses to start without a key", async () => {
    const saved = { key: process.env.KEYS_API_KEY, url: process.env.KEYS_API_URL }
    try {
      delete process.env.KEYS_API_KEY
      let thrown: unknown
      try {
        new Keys({ baseUrl: api.url })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(KeysError)
      expect((thrown as KeysError).code).toBe("missing_api_key")
      expect((thrown as KeysError).message).toContain("KEYS_API_KEY")

      process.env.KEYS_API_KEY = rootKey
      process.env.KEYS_API_URL = `${api.url}/`
      const fromEnv = new Keys()
      expect(fromEnv.baseUrl).toBe(api.url)
      expect((await fromEnv.list({ limit: 1 })).data.length).toBe(1)
      // Neither printing the client nor serialising it shows the key.
      expect(inspect(fromEnv, { depth: 10, showHidden: true })).not.toContain(rootKey)
      expect(JSON.stringify(fromEnv)).not.toContain(rootKey)
      expect(() => new Keys({ apiKey: rootKey, baseUrl: "not a url" })).toThrow(/not a URL/)
    } finally {
      restore("KEYS_API_KEY", saved.key)
      restore("KEYS_API_URL", saved.url)
    }
  })
})

const withoutKey = <A extends { readonly key: string }>(created: A): Omit<A, "key"> => {
  const { key: _key, ...rest } = created
  return rest
}

const restore = (name: string, value: string | undefined) => {
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
}
