/**
 * Figure 7. The peer: Better Auth's API-key plugin (`./peer/BetterAuth.ts`) and ours, the same keys
 * count, the same load, each on its own fresh database on the same PostgreSQL.
 *
 *  - In process: 50 verifications in flight for a fixed time, keys rotating (no two in flight share
 *    a key); ours warm (its cache) and with the cache off; statements counted at each pg pool.
 *  - Over HTTP: autocannon, 50 connections, `GET /v1/auth` with a different key per request, against
 *    the API process and the peer's node:http server; statements counted at the peer's pool and, for
 *    both, transactions from `pg_stat_database`.
 */
import {
  activityBetween,
  countingPool,
  createDatabase,
  databaseActivity,
  insertKeys,
  keySet,
  migrate
} from "../lib/Database.js"
import {
  autocannonRun,
  bearer,
  CONNECTIONS,
  drive,
  forEachConcurrently,
  rotatingAuthRequests
} from "../lib/Load.js"
import { pick, quick, progress } from "../lib/Mode.js"
import { metric, scrape, startApi, startScript } from "../lib/Processes.js"
import * as Services from "../lib/Services.js"
import { median, sleep } from "../lib/Stats.js"
import type { Figure, Row } from "../Report.js"

const KEYS = pick(200, 5_000)
const IN_FLIGHT = 50
const MILLIS = pick(1_000, 5_000)
const HTTP_SECONDS = pick(1, 8)
const ROUNDS = pick(1, 3)
const POOL = 10

interface Side {
  readonly rate: Array<number>
  statements: number
  verifications: number
}
const side = (): Side => ({ rate: [], statements: 0, verifications: 0 })

const limits =
  "Better Auth reads the key row and writes it twice per verification (lastRequest, updatedAt), each its own autocommit, with no cache: every verification is three round trips and two WAL-logged row updates, so it is bounded by PostgreSQL's commit rate (~fsync) and row locks. Ours answers warm verifications from memory (zero statements) and batches last-use writes once per flush; cold, it is one indexed select."

export const run = async (): Promise<ReadonlyArray<Figure>> => {
  let BetterAuth: typeof import("../peer/BetterAuth.js")
  try {
    BetterAuth = await import("../peer/BetterAuth.js")
  } catch (error) {
    return [unavailable(`Better Auth could not be loaded: ${String(error)}`)]
  }

  const oursDb = await createDatabase("peer_ours")
  const theirsDb = await createDatabase("peer_theirs")
  await migrate(oursDb.url)
  const oursPool = countingPool(oursDb.url, POOL)
  const theirsPool = countingPool(theirsDb.url, POOL)
  const keys = keySet("bench", "p", ["send"])
  await insertKeys(oursPool.pool, keys, KEYS)
  let theirKeys: Array<string>
  try {
    theirKeys = await BetterAuth.setUp(theirsPool.pool, KEYS)
  } catch (error) {
    return [unavailable(`Better Auth could not be set up on PostgreSQL: ${String(error)}`)]
  }
  const { auth } = BetterAuth.make(theirsPool.pool)
  const theirVerify = BetterAuth.verifier(auth)
  progress(`${KEYS} keys on each side (Better Auth through auth.api.createApiKey)`)

  // --- in process ---------------------------------------------------------------------------
  const warm = await Services.make(oursPool.pool, {})
  const cold = await Services.make(oursPool.pool, { cacheMaxEntries: 0 })
  const oursWarm = side()
  const oursCold = side()
  const theirs = side()
  const measure = async (
    target: Side,
    counter: { statements: number },
    verify: (key: string) => Promise<boolean>,
    tokens: ReadonlyArray<string>,
    millis: number,
    record: boolean
  ) => {
    const before = counter.statements
    const result = await drive(IN_FLIGHT, millis, (i) => verify(tokens[i % tokens.length]!))
    if (result.failures > 0) throw new Error(`${result.failures} verifications failed`)
    if (!record) return
    target.rate.push(result.opsPerSecond)
    target.statements += counter.statements - before
    target.verifications += result.operations
  }
  // Warm-up: every key once on each side (fills our cache; JIT and connections for all).
  await forEachConcurrently(KEYS, IN_FLIGHT, async (i) => {
    if (!(await warm.verify(keys.tokens[i]!))) throw new Error("ours refused a valid key")
    if (!(await theirVerify(theirKeys[i]!))) throw new Error("Better Auth refused a valid key")
  })
  await measure(oursCold, oursPool.counter, cold.verify, keys.tokens, 500, false)
  for (let round = 0; round < ROUNDS; round++) {
    await measure(oursWarm, oursPool.counter, warm.verify, keys.tokens, MILLIS, true)
    await measure(theirs, theirsPool.counter, theirVerify, theirKeys, MILLIS, true)
    await measure(oursCold, oursPool.counter, cold.verify, keys.tokens, MILLIS, true)
  }
  await warm.close()
  await cold.close()
  await theirsPool.pool.end()
  await oursPool.pool.end()
  progress("in-process rounds done")

  // --- over HTTP ----------------------------------------------------------------------------
  const [api, peer] = await Promise.all([
    startApi("api", { DATABASE_URL: oursDb.url, KEYS_CACHE_MAX: String(Math.max(100_000, KEYS * 2)) }),
    startScript("Better Auth server", "peer/server.ts", { PEER_DATABASE_URL: theirsDb.url })
  ])
  const peerStatements = async () =>
    ((await (await fetch(`${peer.url}/__bench/statements`)).json()) as { statements: number }).statements
  const oursRequests = () => rotatingAuthRequests(keys.tokens, "/v1/auth", bearer)
  const theirRequests = () => rotatingAuthRequests(theirKeys, "/v1/auth", bearer)
  await autocannonRun({ url: api.url, amount: KEYS, requests: oursRequests() }) // every key cached
  await autocannonRun({ url: peer.url, amount: KEYS, requests: theirRequests() })
  progress("API and Better Auth server started and warmed")
  const httpOurs = {
    rps: [] as Array<number>,
    p99: [] as Array<number>,
    total: 0,
    failures: 0,
    statements: 0
  }
  const httpTheirs = {
    rps: [] as Array<number>,
    p99: [] as Array<number>,
    total: 0,
    failures: 0,
    statements: 0
  }
  // Backends publish pg_stat_database counts only after ~10 s idle: read in full runs only.
  const settle = 11_000
  const bothActivities = async () => {
    await sleep(settle)
    return Promise.all([databaseActivity(oursDb.name, 0), databaseActivity(theirsDb.name, 0)])
  }
  const activityBefore = quick ? undefined : await bothActivities()
  for (let round = 0; round < ROUNDS; round++) {
    const apiBefore = await scrape(api.url)
    const ours = await autocannonRun({ url: api.url, duration: HTTP_SECONDS, requests: oursRequests() })
    const apiAfter = await scrape(api.url)
    httpOurs.rps.push(ours.rps)
    httpOurs.p99.push(ours.p99)
    httpOurs.total += ours.total
    httpOurs.failures += ours.failures
    // The API's own counters: each cache miss is one select, each usage flush one statement.
    for (const series of ["keys_cache_misses_total", "keys_usage_flushes_total"])
      httpOurs.statements += metric(apiAfter, series) - metric(apiBefore, series)

    const statementsBefore = await peerStatements()
    const peerLoad = await autocannonRun({ url: peer.url, duration: HTTP_SECONDS, requests: theirRequests() })
    httpTheirs.statements += (await peerStatements()) - statementsBefore
    httpTheirs.rps.push(peerLoad.rps)
    httpTheirs.p99.push(peerLoad.p99)
    httpTheirs.total += peerLoad.total
    httpTheirs.failures += peerLoad.failures
  }
  const activity =
    activityBefore === undefined
      ? undefined
      : await bothActivities().then(([ours, theirs]) => ({
          ours: activityBetween(activityBefore[0], ours),
          theirs: activityBetween(activityBefore[1], theirs)
        }))
  await Promise.all([api.stop(), peer.stop()])
  await oursDb.drop()
  await theirsDb.drop()

  const perVerification = (s: Side) => s.statements / Math.max(1, s.verifications)
  const rows: Array<Row> = [
    {
      label: "in process, ours warm cache",
      value: median(oursWarm.rate),
      unit: "ops/s",
      baselineLabel: "Better Auth",
      baseline: median(theirs.rate),
      ratio: median(oursWarm.rate.map((rate, i) => rate / theirs.rate[i]!)),
      target: "informative"
    },
    {
      label: "in process, ours cache off",
      value: median(oursCold.rate),
      unit: "ops/s",
      baselineLabel: "Better Auth",
      baseline: median(theirs.rate),
      ratio: median(oursCold.rate.map((rate, i) => rate / theirs.rate[i]!)),
      target: "informative"
    },
    {
      label: "in process, DB statements, ours warm",
      value: perVerification(oursWarm),
      unit: "per verification",
      baselineLabel: "Better Auth",
      baseline: perVerification(theirs),
      target: "informative"
    },
    {
      label: "in process, DB statements, ours cache off",
      value: perVerification(oursCold),
      unit: "per verification",
      baselineLabel: "Better Auth",
      baseline: perVerification(theirs),
      target: "informative"
    },
    {
      label: "HTTP GET /v1/auth, 50 connections",
      value: median(httpOurs.rps),
      unit: "req/s",
      baselineLabel: "Better Auth",
      baseline: median(httpTheirs.rps),
      ratio: median(httpOurs.rps.map((rps, i) => rps / httpTheirs.rps[i]!)),
      target: "informative"
    },
    {
      label: "HTTP p99 latency",
      value: median(httpOurs.p99),
      unit: "ms",
      baselineLabel: "Better Auth",
      baseline: median(httpTheirs.p99),
      target: "informative"
    },
    {
      label: "HTTP, DB statements",
      value: httpOurs.statements / Math.max(1, httpOurs.total),
      unit: "per verification",
      baselineLabel: "Better Auth",
      baseline: httpTheirs.statements / Math.max(1, httpTheirs.total),
      target: "informative"
    },
    ...(activity === undefined
      ? []
      : [
          {
            label: "HTTP, DB transactions (pg_stat_database)",
            value: activity.ours.transactions / Math.max(1, httpOurs.total),
            unit: "per verification" as const,
            baselineLabel: "Better Auth",
            baseline: activity.theirs.transactions / Math.max(1, httpTheirs.total),
            target: "informative"
          }
        ])
  ]
  return [
    {
      id: 7,
      title: `The peer: Better Auth ${BetterAuth.VERSION} API-key plugin`,
      rows,
      parameters: {
        keys: KEYS,
        inFlight: IN_FLIGHT,
        inProcessMillis: MILLIS,
        httpConnections: CONNECTIONS,
        httpSeconds: HTTP_SECONDS,
        rounds: ROUNDS,
        poolSize: POOL
      },
      notes: [
        `Over HTTP: Better Auth sent ${httpTheirs.statements} statements for ${httpTheirs.total} verifications (counted at its pg pool); ours ${httpOurs.statements} for ${httpOurs.total} (the API's cache-miss and usage-flush counters; the in-process rows count at the pool). Our residue is the usage flush once a second and each cached key re-read once per cache TTL (60 s). Failed or non-2xx: ours ${httpOurs.failures}, Better Auth ${httpTheirs.failures}.`,
        "Setup as documented: betterAuth({ database: new Pool(...), plugins: [apiKey({ rateLimit: { enabled: false } })] }), getMigrations(options).runMigrations(), keys from auth.api.createApiKey for one user, verification with auth.api.verifyApiKey({ body: { key } }). Over HTTP it sits behind the same node:http shape as ours (its verify endpoint is server-only); /api/auth/* is its own toNodeHandler.",
        quick
          ? "Quick runs skip the pg_stat_database cross-check (backends publish their counts only after ~10 s idle)."
          : "pg_stat_database counts every transaction on each database over all HTTP rounds, background ones included (our usage flush once a second, its none).",
        "pg_stat_statements is not loaded on this server (shared_preload_libraries is empty and the shared server is not ours to restart), so statements are counted at the pg client."
      ],
      limits
    }
  ]
}

const unavailable = (reason: string): Figure => ({
  id: 7,
  title: "The peer: Better Auth API-key plugin",
  rows: [],
  parameters: {},
  notes: [reason],
  limits,
  skipped: reason
})
