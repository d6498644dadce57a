/**
 * Load: 60 seconds of mixed traffic against the API run as its own process on a fresh database,
 * as fast as the machine answers (a closed loop of concurrent clients; speed is not measured
 * here, `pnpm bench` does that). 90% verification (POST /v1/keys/verify with the root key, GET
 * /v1/auth with the key itself), 10% management (create, list, get, update, revoke, roll).
 *
 * Every answer is checked against a model of what each key should be: no 5xx, no request without an
 * answer within its timeout, no lost key (each created key is listed, gettable and verifies; each
 * revoked or rolled one is refused), resident memory flat after warm-up. Then the secrets scan:
 * the API's whole output, a pg_dump of its database and every response body hold no plaintext key
 * except the create/roll responses that mint it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, mapConcurrently, type Reply } from "./support/Client.js"
import { type ApiProcess, startApi } from "./support/Processes.js"
import { SecretLedger, sha256Hex, withoutBanner } from "./support/Secrets.js"
import { createDatabase, type Database, dumpDatabase } from "./support/Services.js"

const LOAD_MILLIS = Number(process.env.TEST_LOAD_SECONDS ?? 60) * 1_000
/** Memory is compared from the end of warm-up on: caches and JIT fill in the first quarter. */
const WARM_UP_MILLIS = LOAD_MILLIS / 4
const CLIENTS = 48
const SEED_KEYS = 200
const PRODUCT_SCOPES = ["send", "read", "write"] as const

interface TrackedKey {
  readonly id: string
  readonly secret: string
  /** null: unscoped (every product scope). */
  readonly scopes: ReadonlyArray<string> | null
  name: string
  state: "active" | "revoked"
  /** A management call on it is in flight: its state is unknown until the answer. */
  busy: boolean
  /** Verifications in flight: no management call starts on it meanwhile, so each knows its answer. */
  readers: number
}

let database: Database
let api: ApiProcess
let root: string
const ledger = new SecretLedger()
const keys: Array<TrackedKey> = []
const problems: Array<string> = []
let problemCount = 0
const counts: Record<string, number> = {}
let requests = 0

const problem = (what: string, reply?: Reply): void => {
  problemCount++
  if (problems.length < 30) {
    problems.push(
      reply === undefined ? what : `${what}: ${reply.status} ${reply.error ?? reply.text.slice(0, 300)}`
    )
  }
}

/** Every answer: no 5xx, no missing answer, no plaintext key beyond the one a 201 mints. */
const observe = (reply: Reply, minted?: string): Reply => {
  requests++
  if (reply.status === 0) problem("no answer", reply)
  else if (reply.status >= 500) problem("5xx", reply)
  const allowed = new Set(minted === undefined ? [] : [minted])
  for (const leak of ledger.findLeaks(reply.text, allowed)) problem(`secret in a response (${leak.context})`)
  return reply
}

const random = <A>(items: ReadonlyArray<A>): A => items[Math.floor(Math.random() * items.length)]!

/** A key no management call is changing (and, for one, that no verification is reading). */
const pickIdle = (exclusive = false): TrackedKey | undefined => {
  for (let attempt = 0; attempt < 8; attempt++) {
    const key = random(keys)
    if (!key.busy && (!exclusive || key.readers === 0)) return key
  }
  return undefined
}

/** Sends a verification of `key`, holding it against management calls until the answer. */
const reading = async (key: TrackedKey, send: () => Promise<Reply>): Promise<Reply> => {
  key.readers++
  try {
    return observe(await send())
  } finally {
    key.readers--
  }
}

const expectedCode = (key: TrackedKey, scopes: ReadonlyArray<string>): string => {
  if (key.state === "revoked") return "invalid_api_key"
  return key.scopes === null || scopes.every((scope) => key.scopes!.includes(scope))
    ? "valid"
    : "insufficient_scope"
}

const requestedScopes = (): Array<string> => {
  const roll = Math.random()
  return roll < 0.5 ? [] : roll < 0.9 ? [random(PRODUCT_SCOPES)] : [...PRODUCT_SCOPES]
}

const createKey = async (): Promise<void> => {
  const scopes = Math.random() < 0.5 ? null : ["send", "read"]
  const name = `load ${keys.length}`
  const reply = await call(api.url, "POST", "/v1/keys", root, { name, scopes, metadata: { n: keys.length } })
  const secret: unknown = reply.json?.key
  if (typeof secret === "string") ledger.add(secret)
  observe(reply, typeof secret === "string" ? secret : undefined)
  if (reply.status !== 201 || typeof secret !== "string") return problem("create", reply)
  keys.push({ id: reply.json.id, secret, scopes, name, state: "active", busy: false, readers: 0 })
}

const verifyByRoot = async (): Promise<void> => {
  const key = pickIdle()
  if (key === undefined) return
  const scopes = requestedScopes()
  const expected = expectedCode(key, scopes)
  const reply = await reading(key, () =>
    call(
      api.url,
      "POST",
      "/v1/keys/verify",
      root,
      scopes.length === 0 ? { key: key.secret } : { key: key.secret, scopes }
    )
  )
  if (reply.status !== 200 || reply.json?.code !== expected || reply.json?.valid !== (expected === "valid")) {
    problem(`verify ${key.id} (${key.state}) expected ${expected}`, reply)
  }
}

const authByKey = async (): Promise<void> => {
  const key = pickIdle()
  if (key === undefined) return
  const scopes = requestedScopes()
  const expected = expectedCode(key, scopes)
  const query = scopes.length === 0 ? "" : `?scopes=${scopes.join(",")}`
  const reply = await reading(key, () => call(api.url, "GET", `/v1/auth${query}`, key.secret))
  const status = expected === "valid" ? 200 : expected === "invalid_api_key" ? 401 : 403
  if (
    reply.status !== status ||
    (status === 200 ? reply.headers["x-key-id"] !== key.id : reply.json?.code !== expected)
  ) {
    problem(`auth ${key.id} (${key.state}) expected ${expected}`, reply)
  }
}

/** A management call on one idle key, holding it busy until the answer. */
const onKey = async (use: (key: TrackedKey) => Promise<void>, active = false): Promise<void> => {
  const key = pickIdle(true)
  if (key === undefined || (active && key.state !== "active")) return
  key.busy = true
  try {
    await use(key)
  } finally {
    key.busy = false
  }
}

const management = async (): Promise<void> => {
  const roll = Math.random()
  if (roll < 0.3) return createKey()
  if (roll < 0.45) {
    const reply = observe(await call(api.url, "GET", "/v1/keys?limit=100", root))
    if (reply.status !== 200 || !Array.isArray(reply.json?.data)) problem("list", reply)
    return
  }
  if (roll < 0.65) {
    return onKey(async (key) => {
      const reply = observe(await call(api.url, "GET", `/v1/keys/${key.id}`, root))
      if (reply.status !== 200 || reply.json?.status !== key.state || reply.json?.name !== key.name) {
        problem(`get ${key.id} (${key.state}, ${key.name})`, reply)
      }
    })
  }
  if (roll < 0.8) {
    return onKey(async (key) => {
      const name = `renamed ${Math.random().toString(36).slice(2, 8)}`
      const reply = observe(await call(api.url, "PATCH", `/v1/keys/${key.id}`, root, { name }))
      if (reply.status !== 200 || reply.json?.name !== name) return problem(`update ${key.id}`, reply)
      key.name = name
    })
  }
  if (roll < 0.9) {
    return onKey(async (key) => {
      const reply = observe(await call(api.url, "DELETE", `/v1/keys/${key.id}`, root))
      if (reply.status !== 200 || reply.json?.status !== "revoked") return problem(`revoke ${key.id}`, reply)
      key.state = "revoked"
    })
  }
  return onKey(async (key) => {
    const reply = await call(api.url, "POST", `/v1/keys/${key.id}/roll`, root, {})
    const secret: unknown = reply.json?.key
    if (typeof secret === "string") ledger.add(secret)
    observe(reply, typeof secret === "string" ? secret : undefined)
    if (reply.status !== 201 || typeof secret !== "string") return problem(`roll ${key.id}`, reply)
    // A roll without grace period revokes the old key at once.
    key.state = "revoked"
    keys.push({
      id: reply.json.id,
      secret,
      scopes: key.scopes,
      name: key.name,
      state: "active",
      busy: false,
      readers: 0
    })
  }, true)
}

const step = (): Promise<void> => {
  const roll = Math.random()
  const op = roll < 0.45 ? "verify" : roll < 0.9 ? "auth" : "management"
  counts[op] = (counts[op] ?? 0) + 1
  return op === "verify" ? verifyByRoot() : op === "auth" ? authByKey() : management()
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

beforeAll(async () => {
  database = await createDatabase()
  api = await startApi({ databaseUrl: database.url })
  expect(api.rootKey).toMatch(/^sk_live_[0-9A-Za-z]{48}$/)
  root = api.rootKey!
  ledger.add(root)
  await mapConcurrently(Array.from({ length: SEED_KEYS }), 16, () => createKey())
  expect(problems).toEqual([])
})

afterAll(async () => {
  await api?.stop()
  await database?.drop()
})

describe("60 s of mixed traffic", () => {
  it("no 5xx, no lost key, memory flat after warm-up; no plaintext key in logs, database or responses", async () => {
    const started = Date.now()
    const memory: Array<{ readonly at: number; readonly rss: number }> = []
    const sampler = setInterval(() => {
      const rss = api.rss()
      if (rss !== undefined) memory.push({ at: Date.now() - started, rss })
    }, 1_000)
    let slowest = 0
    const lanes = Array.from({ length: CLIENTS }, async () => {
      while (Date.now() - started < LOAD_MILLIS) {
        const before = performance.now()
        await step()
        slowest = Math.max(slowest, performance.now() - before)
      }
    })
    await Promise.all(lanes)
    clearInterval(sampler)
    const elapsed = (Date.now() - started) / 1_000
    expect(api.alive()).toBe(true)

    // Nothing lost: every key is listed with the status the model says …
    const listed = new Map<string, string>()
    let cursor: string | null = null
    do {
      const page: Reply = observe(
        await call(
          api.url,
          "GET",
          `/v1/keys?limit=100${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
          root
        )
      )
      expect(page.status, page.text).toBe(200)
      for (const key of page.json.data) listed.set(key.id, key.status)
      cursor = page.json.nextCursor
    } while (cursor !== null)
    const missing = keys.filter((key) => !listed.has(key.id)).map((key) => key.id)
    const wrongStatus = keys.filter((key) => listed.has(key.id) && listed.get(key.id) !== key.state)
    expect(missing).toEqual([])
    expect(wrongStatus.map((key) => `${key.id}: ${listed.get(key.id)} (expected ${key.state})`)).toEqual([])
    expect(listed.size).toBe(keys.length + 1)

    // … gettable one by one, and verifies as it should: active keys valid, revoked ones refused.
    const finalChecks = await mapConcurrently(keys, 32, async (key) => {
      const [got, verified, auth] = await Promise.all([
        call(api.url, "GET", `/v1/keys/${key.id}`, root),
        call(api.url, "POST", "/v1/keys/verify", root, { key: key.secret }),
        call(api.url, "GET", "/v1/auth", key.secret)
      ])
      for (const reply of [got, verified, auth]) observe(reply)
      const valid = key.state === "active"
      return got.status === 200 &&
        got.json.status === key.state &&
        verified.json?.valid === valid &&
        verified.json?.code === (valid ? "valid" : "invalid_api_key") &&
        auth.status === (valid ? 200 : 401)
        ? undefined
        : `${key.id} (${key.state}): get ${got.status} ${got.json?.status}, verify ${verified.json?.code}, auth ${auth.status}`
    })
    expect(finalChecks.filter((line) => line !== undefined)).toEqual([])

    // Stored as hashes: each secret's SHA-256 is in the table.
    const { rows } = await database.pool.query<{ hash: string }>("select hash from keys")
    const hashes = new Set(rows.map((row) => row.hash))
    expect(keys.filter((key) => !hashes.has(sha256Hex(key.secret))).map((key) => key.id)).toEqual([])

    const revoked = keys.filter((key) => key.state === "revoked").length
    const afterWarmUp = memory.filter(
      (sample) => sample.at >= WARM_UP_MILLIS && sample.at < WARM_UP_MILLIS + 5_000
    )
    const atEnd = memory.slice(-5)
    const baseline = median(afterWarmUp.map((sample) => sample.rss))
    const final = median(atEnd.map((sample) => sample.rss))
    console.log(
      [
        `load: ${requests} requests in ${elapsed.toFixed(1)} s (${Math.round(requests / elapsed)}/s, informative only),`,
        `ops ${JSON.stringify(counts)}, ${keys.length} keys (${revoked} revoked), slowest ${Math.round(slowest)} ms,`,
        `RSS after warm-up ${(baseline / 2 ** 20).toFixed(0)} MiB, at the end ${(final / 2 ** 20).toFixed(0)} MiB,`,
        `peak ${(Math.max(...memory.map((sample) => sample.rss)) / 2 ** 20).toFixed(0)} MiB`
      ].join(" ")
    )
    expect(problems.join("\n"), `${problemCount} problems`).toBe("")
    expect(problemCount).toBe(0)
    expect(counts.management ?? 0).toBeGreaterThan(0)
    // Flat: caches, metrics and pools are bounded, so memory levels off once warm. Generous bound.
    expect(afterWarmUp.length).toBeGreaterThan(0)
    expect(final).toBeLessThan(baseline * 1.5)

    // Secrets: every key the run minted (and any key-shaped text) is nowhere but its 201.
    expect(ledger.size).toBe(keys.length + 1)
    const logs = withoutBanner(api.output(), root)
    expect(logs.length).toBeGreaterThan(0)
    expect(ledger.findLeaks(logs)).toEqual([])
    const dump = dumpDatabase(database.url)
    expect(dump).toContain("COPY public.keys")
    expect(ledger.findLeaks(dump)).toEqual([])
  })
})
