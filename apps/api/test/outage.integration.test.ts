/**
 * The database goes away and comes back: /readyz says 503 while it is gone and 200 again after,
 * keys verified shortly before keep verifying from the cache (a revocation it holds included),
 * requests the cache cannot answer get a clean 503 JSON error (never a 500), /healthz stays 200,
 * and everything works again afterwards with invalidations flowing.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Credential,
  createKey,
  expectError,
  expectOk,
  freshDatabase,
  type Reply,
  type RunningApi,
  request,
  startApi,
  uniqueTeam,
  verify,
  waitFor,
  withAdmin
} from "./helpers.js"
import { PgStore } from "@keys/postgres"

let scope: Scope.CloseableScope
let database: string
let api: RunningApi
let root: Credential

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  const fresh = await Effect.runPromise(Scope.extend(freshDatabase, scope))
  database = fresh.name
  api = await startApi(PgStore.layer({ url: fresh.url }))
  root = await api.rootKey(uniqueTeam("outage"))
}, 60_000)

afterAll(async () => {
  await setAllowConnections(true).catch(() => undefined)
  await api?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
}, 60_000)

/** Fences the database off (no new connections, existing ones cut), or lets it back in. */
const setAllowConnections = (allow: boolean) =>
  Effect.runPromise(
    withAdmin((sql) =>
      Effect.gen(function* () {
        yield* sql.unsafe(`alter database ${database} with allow_connections ${allow}`)
        if (!allow) {
          yield* sql.unsafe(
            `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`
          )
        }
      })
    )
  )

const expectUnavailable = (reply: Reply): void => {
  expectError(reply, 503, reply.json?.code)
  expect(reply.text).not.toMatch(/stack|at .*\.ts:\d+|postgres:\/\//i)
}

describe("database outage", { timeout: 90_000 }, () => {
  it("readyz 503 while the database is gone, cached keys still verify, clean 503s otherwise; all well once it is back", async () => {
    const warm = await createKey(api, root.key, { name: "warm" })
    const cold = await createKey(api, root.key, { name: "cold" })
    const revoked = await createKey(api, root.key, { name: "revoked" })
    for (let i = 0; i < 2; i++) expect((await verify(api, root.key, { key: warm.key })).json.valid).toBe(true)
    expectOk(await request(api, "DELETE", `/v1/keys/${revoked.id}`, { key: root.key }))
    expect((await verify(api, root.key, { key: revoked.key })).json.code).toBe("invalid_api_key")
    expectOk(await request(api, "GET", "/readyz"))
    const staleHits = async () => {
      const text = (await request(api, "GET", "/metrics")).text
      const line = text.split("\n").find((candidate) => candidate.startsWith("keys_cache_stale_hits_total "))
      return Number(line?.split(" ")[1])
    }
    expect(await staleHits()).toBe(0)

    await setAllowConnections(false)
    try {
      const notReady = await waitFor(
        "readyz to report the outage",
        async () => {
          const reply = await request(api, "GET", "/readyz")
          return reply.status === 503 ? reply : undefined
        },
        { timeoutMillis: 15_000, intervalMillis: 100 }
      )
      expectUnavailable(notReady)
      expectOk(await request(api, "GET", "/healthz"))

      // Needs the store: a clean 503 JSON error.
      expectUnavailable(await request(api, "GET", "/v1/keys", { key: root.key }))
      expectUnavailable(await request(api, "POST", "/v1/keys", { key: root.key, body: { name: "x" } }))
      const coldVerify = await verify(api, root.key, { key: cold.key })
      expect(coldVerify.status).not.toBe(200)
      expectUnavailable(coldVerify)
      // The store is gone and so is the invalidation feed: what the cache holds still answers,
      // the revocation included, through both verification endpoints.
      const warmVerify = await verify(api, root.key, { key: warm.key })
      expect(warmVerify.status).toBe(200)
      expect(warmVerify.json.valid).toBe(true)
      expect((await request(api, "GET", "/v1/auth", { key: warm.key })).status).toBe(200)
      expect((await verify(api, root.key, { key: revoked.key })).json.code).toBe("invalid_api_key")
      expect(await staleHits()).toBeGreaterThan(0)
      // A malformed key needs no store: still the usual answer.
      const malformed = await verify(api, root.key, { key: "sk_live_nope" })
      // The root key itself is checked against the store first, so either answer is honest here.
      expect([200, 503]).toContain(malformed.status)
    } finally {
      await setAllowConnections(true)
    }

    await waitFor(
      "readyz to recover",
      async () => ((await request(api, "GET", "/readyz")).status === 200 ? true : undefined),
      { timeoutMillis: 20_000, intervalMillis: 200 }
    )
    await waitFor(
      "verification to recover",
      async () => ((await verify(api, root.key, { key: warm.key })).json?.valid === true ? true : undefined),
      { timeoutMillis: 20_000, intervalMillis: 200 }
    )
    expect((await verify(api, root.key, { key: cold.key })).json.valid).toBe(true)
    const created = await createKey(api, root.key, { name: "after the outage" })
    expect((await verify(api, root.key, { key: created.key })).json.valid).toBe(true)
    // Invalidations flow again: a revocation is seen at once.
    expectOk(await request(api, "DELETE", `/v1/keys/${warm.id}`, { key: root.key }))
    expect((await verify(api, root.key, { key: warm.key })).json.code).toBe("invalid_api_key")
  })
})
