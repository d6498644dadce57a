/**
 * Two API instances on one PostgreSQL database, each with its own services, cache and LISTEN/NOTIFY
 * subscription (two separate layer builds, two PgStore layers). The contract (section 4): "a revoked
 * key is refused by every API instance within 1 second of the DELETE answering", and "a key works on
 * its first request after creation" on any instance.
 */
import { PgStore } from "@keys/postgres"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Credential,
  createKey,
  expectOk,
  freshDatabase,
  type RunningApi,
  request,
  startApi,
  uniqueTeam,
  verify
} from "./helpers.js"

/** The contract's bound on revocation across instances. */
const PROPAGATION_BOUND_MILLIS = 1_000

let scope: Scope.CloseableScope
let a: RunningApi
let b: RunningApi
let platform: Credential

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
  // Default cache TTL (60 s): within the 1 s bound only an invalidation can evict a warm entry.
  a = await startApi(PgStore.layer({ url }))
  b = await startApi(PgStore.layer({ url }))
  platform = await a.rootKey(uniqueTeam("platform"), { admin: true })
}, 60_000)

afterAll(async () => {
  await a?.close()
  await b?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

/**
 * Polls `check` until it holds; fails if that takes longer than the contract's bound after `since`.
 * Answers the milliseconds it took.
 */
const withinBound = async (what: string, since: number, check: () => Promise<boolean>): Promise<number> => {
  for (;;) {
    if (await check()) return Date.now() - since
    if (Date.now() - since > PROPAGATION_BOUND_MILLIS) {
      throw new Error(`${what}: not seen within ${PROPAGATION_BOUND_MILLIS} ms`)
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe("two instances on one database", { timeout: 60_000 }, () => {
  it("run on different ports with their own servers", () => {
    expect(a.port).not.toBe(b.port)
    expect(a.url).not.toBe(b.url)
  })

  it("a key created on A works on its first request on B", async () => {
    const root = await a.rootKey(uniqueTeam("first"))
    const created = await createKey(a, root.key, { name: "fresh" })
    const onB = await verify(b, platform.key, { key: created.key })
    expect(onB.json).toMatchObject({ valid: true, code: "valid" })
    const authOnB = await request(b, "GET", "/v1/auth", { key: created.key })
    expect(authOnB.status).toBe(200)
    // And the root key minted through A's services manages on B.
    expectOk(await request(b, "GET", `/v1/keys/${created.id}`, { key: root.key }))
  })

  it("a key revoked through A is refused by B (warm cache) within 1 second", async () => {
    const root = await a.rootKey(uniqueTeam("revoke"))
    const created = await createKey(a, root.key, { name: "to revoke" })
    // Warm both caches: several verifications each, the later ones answered from the cache.
    for (let i = 0; i < 3; i++) {
      expect((await verify(a, platform.key, { key: created.key })).json.valid).toBe(true)
      expect((await verify(b, platform.key, { key: created.key })).json.valid).toBe(true)
      expect((await request(b, "GET", "/v1/auth", { key: created.key })).status).toBe(200)
    }
    const revoked = await request(a, "DELETE", `/v1/keys/${created.id}`, { key: root.key })
    expectOk(revoked)
    const answeredAt = Date.now()
    expect((await verify(a, platform.key, { key: created.key })).json.code).toBe("invalid_api_key")
    await withinBound("revocation on B (verify)", answeredAt, async () => {
      const reply = await verify(b, platform.key, { key: created.key })
      expect(reply.status).toBe(200)
      return reply.json.code === "invalid_api_key"
    })
    await withinBound("revocation on B (forward-auth)", answeredAt, async () => {
      const reply = await request(b, "GET", "/v1/auth", { key: created.key })
      return reply.status === 401 && reply.json.code === "invalid_api_key"
    })
  })

  it("a key revoked through B is refused by A within 1 second, and the root key itself too", async () => {
    const root = await b.rootKey(uniqueTeam("reverse"))
    const created = await createKey(b, root.key, { name: "k" })
    expect((await verify(a, platform.key, { key: created.key })).json.valid).toBe(true)
    expectOk(await request(a, "GET", "/v1/keys", { key: root.key }))
    expectOk(await request(b, "DELETE", `/v1/keys/${created.id}`, { key: root.key }))
    const answeredAt = Date.now()
    await withinBound("revocation on A", answeredAt, async () => {
      const reply = await verify(a, platform.key, { key: created.key })
      return reply.json.code === "invalid_api_key"
    })
    // Revoking the root key through B locks it out of A too.
    expectOk(await request(b, "DELETE", `/v1/keys/${root.id}`, { key: root.key }))
    const rootRevokedAt = Date.now()
    await withinBound("root revocation on A", rootRevokedAt, async () => {
      const reply = await request(a, "GET", "/v1/keys", { key: root.key })
      return reply.status === 401 && reply.json.code === "invalid_api_key"
    })
  })

  it("a roll with no grace period on A ends the old key on B within 1 second; the new one works on B", async () => {
    const root = await a.rootKey(uniqueTeam("roll"))
    const created = await createKey(a, root.key, { name: "rolled" })
    expect((await verify(b, platform.key, { key: created.key })).json.valid).toBe(true)
    const rolled = await request(a, "POST", `/v1/keys/${created.id}/roll`, {
      key: root.key,
      body: { gracePeriodSeconds: 0 }
    })
    expectOk(rolled, 201)
    const answeredAt = Date.now()
    await withinBound("roll on B", answeredAt, async () => {
      const reply = await verify(b, platform.key, { key: created.key })
      return reply.json.code === "invalid_api_key"
    })
    expect((await verify(b, platform.key, { key: rolled.json.key })).json.valid).toBe(true)
  })

  it("a scope change on A applies on B within 1 second", async () => {
    const root = await a.rootKey(uniqueTeam("patch"))
    const created = await createKey(a, root.key, { name: "scoped", scopes: ["send"] })
    expect((await verify(b, platform.key, { key: created.key, scopes: ["send"] })).json.valid).toBe(true)
    expectOk(
      await request(a, "PATCH", `/v1/keys/${created.id}`, { key: root.key, body: { scopes: ["read"] } })
    )
    const answeredAt = Date.now()
    await withinBound("scope change on B", answeredAt, async () => {
      const reply = await verify(b, platform.key, { key: created.key, scopes: ["send"] })
      return reply.json.code === "insufficient_scope"
    })
  })

  it("usage recorded on B shows up in lastUsedAt read through A", async () => {
    const root = await a.rootKey(uniqueTeam("usage"))
    const created = await createKey(a, root.key, { name: "used on B" })
    expect((await verify(b, platform.key, { key: created.key })).json.valid).toBe(true)
    const deadline = Date.now() + 5_000
    let lastUsedAt: string | null = null
    while (lastUsedAt === null && Date.now() < deadline) {
      const reply = await request(a, "GET", `/v1/keys/${created.id}`, { key: root.key })
      lastUsedAt = reply.json.lastUsedAt
      if (lastUsedAt === null) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(lastUsedAt).not.toBeNull()
  })
})
