/**
 * Figure 4. Writes per 10 000 verifications, and the lag from a verification to `lastUsedAt` in the
 * database, against the naive design (one UPDATE per verification).
 *
 *  a. In process, statements counted at the pg client: 10 000 warm verifications, then one flush.
 *  b. Lag over HTTP: the API with the worker over BullMQ (Redis, unique prefix), and the API alone
 *     with the direct (embedded) sink: GET /v1/auth on a never-used key, then poll the row.
 *  c. Over BullMQ: 10 000 verifications through the API, the worker's statements counted by its
 *     own metrics.
 */
import {
  countingPool,
  createDatabase,
  type Database,
  insertKeys,
  keyId,
  keySet,
  migrate,
  connect
} from "../lib/Database.js"
import { autocannonRun, bearer, forEachConcurrently, keepAliveAgent, send } from "../lib/Load.js"
import { pick, quick, progress } from "../lib/Mode.js"
import { metric, type Running, scrape, startApi, startWorker } from "../lib/Processes.js"
import * as Redis from "../lib/Redis.js"
import * as Services from "../lib/Services.js"
import { percentile, sleep } from "../lib/Stats.js"
import type { Figure, Row } from "../Report.js"
import { Duration } from "effect"

const VERIFICATIONS = 10_000
/** Naive UPDATEs timed for the baseline's cost (its count per 10 000 verifications is 10 000 by definition). */
const NAIVE_TIMED = pick(2_000, 10_000)
const KEYS = 100
const LAG_SAMPLES = pick(6, 40)
const LAG_CONCURRENCY = 8
const FLUSH_MS = 1_000

/** a. Statements on the verify path and per flush, in process; the naive UPDATE beside it. */
const statements = async () => {
  const database = await createDatabase("writes")
  await migrate(database.url)
  const { counter, pool } = countingPool(database.url, 4)
  const keys = keySet("bench", "w", ["send"])
  await insertKeys(pool, keys, KEYS)
  const services = await Services.make(pool, { usageFlushInterval: Duration.hours(1) })
  for (const token of keys.tokens) await services.verify(token)
  await services.flush()
  const before = counter.statements
  const started = performance.now()
  for (let i = 0; i < VERIFICATIONS; i++) {
    if (!(await services.verify(keys.tokens[i % KEYS]!))) throw new Error("verification refused a valid key")
  }
  const verifySeconds = (performance.now() - started) / 1000
  const onVerifyPath = counter.statements - before
  await services.flush()
  const perFlush = counter.statements - before - onVerifyPath
  const { rows } = await pool.query<{ n: string }>(
    "select count(*)::text as n from keys where last_used_at is not null"
  )
  if (Number(rows[0]!.n) !== KEYS) throw new Error(`flush wrote lastUsedAt for ${rows[0]!.n} of ${KEYS} keys`)

  const bare = await connect(database.url)
  const naiveLatencies: Array<number> = []
  const naiveStarted = performance.now()
  for (let i = 0; i < NAIVE_TIMED; i++) {
    const at = performance.now()
    await bare.query("update keys set last_used_at = now() where id = $1", [keyId(keys.label, i % KEYS)])
    naiveLatencies.push(performance.now() - at)
  }
  const naiveSeconds = ((performance.now() - naiveStarted) / 1000) * (VERIFICATIONS / NAIVE_TIMED)
  progress("statements counted in process")
  await bare.end()
  await services.close()
  await pool.end()
  await database.drop()
  return { onVerifyPath, perFlush, verifySeconds, naiveSeconds, naiveLag: percentile(naiveLatencies, 0.5) }
}

/** b. Verification → lastUsedAt lag through a running API (and worker), polled every 5 ms. */
const lag = async (api: Running, database: Database, tokens: ReadonlyArray<string>, label: string) => {
  const agent = keepAliveAgent()
  const poller = await connect(database.url)
  const waiting = new Map<string, () => void>()
  let polling = true
  const poll = (async () => {
    while (polling) {
      if (waiting.size > 0) {
        const { rows } = await poller.query<{ id: string }>(
          "select id from keys where id = any($1::text[]) and last_used_at is not null",
          [[...waiting.keys()]]
        )
        for (const { id } of rows) {
          waiting.get(id)?.()
          waiting.delete(id)
        }
      }
      await sleep(5)
    }
  })()
  const lags: Array<number> = []
  await forEachConcurrently(tokens.length, LAG_CONCURRENCY, async (i) => {
    await sleep(Math.random() * FLUSH_MS) // any phase of the flush cycle
    const seen = new Promise<void>((resolve) => waiting.set(keyId(label, i), resolve))
    const response = await send(agent, `${api.url}/v1/auth`, { headers: bearer(tokens[i]!) })
    const verified = performance.now()
    if (response.status !== 200) throw new Error(`GET /v1/auth answered ${response.status}`)
    const timeout = sleep(15_000).then(() => "timeout" as const)
    if ((await Promise.race([seen, timeout])) === "timeout") throw new Error("lastUsedAt never arrived")
    lags.push(performance.now() - verified)
  })
  polling = false
  await poll
  await poller.end()
  agent.destroy()
  return { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), max: Math.max(...lags) }
}

const prepared = async (name: string, label: string, count: number) => {
  const database = await createDatabase(name)
  await migrate(database.url)
  const client = await connect(database.url)
  const keys = keySet("bench", label, ["send"])
  await insertKeys(client, keys, count)
  await client.end()
  return { database, keys }
}

/** c. Polls both processes' metrics until the API has nothing pending and the worker has applied every flush. */
const drained = async (api: Running, worker: Running, flushesBefore: number, jobsBefore: number) => {
  const deadline = Date.now() + 20_000
  for (;;) {
    const [apiText, workerText] = await Promise.all([scrape(api.url), scrape(worker.url)])
    const flushes = metric(apiText, "keys_usage_flushes_total") - flushesBefore
    const jobs = metric(workerText, "keys_worker_usage_jobs_total") - jobsBefore
    if ((metric(apiText, "keys_usage_pending_keys") === 0 && jobs >= flushes) || Date.now() > deadline)
      return { apiText, workerText }
    await sleep(100)
  }
}

const queued = async () => {
  const prepared_ = await prepared("lag_queue", "q", LAG_SAMPLES + KEYS)
  const prefix = Redis.freshPrefix("usage")
  const env = {
    DATABASE_URL: prepared_.database.url,
    REDIS_URL: Redis.REDIS_URL,
    KEYS_REDIS_PREFIX: prefix,
    KEYS_USAGE_FLUSH_MS: String(FLUSH_MS)
  }
  const [api, worker] = await Promise.all([startApi("api (BullMQ sink)", env), startWorker("worker", env)])
  progress("API and worker (BullMQ) started")
  const queueLag = await lag(api, prepared_.database, prepared_.keys.tokens.slice(0, LAG_SAMPLES), "q")
  progress("lag over BullMQ measured")

  // c. 10 000 verifications over HTTP on KEYS keys; the worker counts its usage statements.
  const tokens = prepared_.keys.tokens.slice(LAG_SAMPLES)
  const apiBefore = await scrape(api.url)
  const workerBefore = await scrape(worker.url)
  const flushesBefore = metric(apiBefore, "keys_usage_flushes_total")
  const jobsBefore = metric(workerBefore, "keys_worker_usage_jobs_total")
  let next = 0
  const load = await autocannonRun({
    url: api.url,
    amount: VERIFICATIONS,
    connections: 10,
    requests: [
      {
        method: "GET",
        path: "/v1/auth",
        setupRequest: (request) => ({ ...request, headers: bearer(tokens[next++ % tokens.length]!) })
      }
    ]
  })
  await sleep(FLUSH_MS + 200)
  const { apiText, workerText } = await drained(api, worker, flushesBefore, jobsBefore)
  progress("10 000 verifications over BullMQ applied")
  const workerStatements =
    metric(workerText, "keys_worker_usage_statements_total") -
    metric(workerBefore, "keys_worker_usage_statements_total")
  const workerJobs = metric(workerText, "keys_worker_usage_jobs_total") - jobsBefore
  const flushes = metric(apiText, "keys_usage_flushes_total") - flushesBefore
  await Promise.all([api.stop(), worker.stop()])
  await prepared_.database.drop()
  return { queueLag, load, workerStatements, workerJobs, flushes }
}

const embedded = async () => {
  const prepared_ = await prepared("lag_embedded", "e", LAG_SAMPLES)
  const api = await startApi("api (direct sink)", {
    DATABASE_URL: prepared_.database.url,
    KEYS_USAGE_FLUSH_MS: String(FLUSH_MS)
  })
  const result = await lag(api, prepared_.database, prepared_.keys.tokens, "e")
  progress("lag with the direct sink measured")
  await api.stop()
  await prepared_.database.drop()
  return result
}

export const run = async (): Promise<ReadonlyArray<Figure>> => {
  const redis = await Redis.ping()
  // Both lag set-ups at once: the lag is dominated by the 1 s flush cycle, not by CPU. Quick runs
  // also count statements meanwhile (counts are exact; only the naive UPDATE's timing gets noisier).
  const lags = () => Promise.all([embedded(), redis ? queued() : Promise.resolve(undefined)])
  const [counted, [embeddedLag, queue]] = quick
    ? await Promise.all([statements(), lags()])
    : [await statements(), await lags()]
  const notes: Array<string> = []

  let queueRows: Array<Row> = []
  if (queue !== undefined) {
    const { queueLag, load, workerStatements, workerJobs, flushes } = queue
    notes.push(
      `Over BullMQ: ${load.total} verifications (${load.failures} failed) in ${flushes} flushes → ${workerJobs} usage jobs applied in ${workerStatements} worker statements.`
    )
    queueRows = [
      {
        label: "lag to lastUsedAt, API + worker (BullMQ), p50",
        value: queueLag.p50,
        unit: "ms",
        baselineLabel: "naive UPDATE",
        baseline: counted.naiveLag,
        ratio: queueLag.p50 / counted.naiveLag,
        target: `informative (flush every ${FLUSH_MS} ms)`
      },
      {
        label: "lag to lastUsedAt, API + worker (BullMQ), p99",
        value: queueLag.p99,
        unit: "ms",
        target: `≤ flush interval + 1 s`,
        met: queueLag.p99 <= FLUSH_MS + 1_000
      },
      {
        label: "writes per 10 000 verifications via BullMQ worker",
        value: (workerStatements * VERIFICATIONS) / Math.max(1, load.total),
        unit: "statements",
        baselineLabel: "naive UPDATE",
        baseline: VERIFICATIONS,
        ratio: workerStatements / Math.max(1, load.total),
        target: "≤ 1 per flush",
        met: workerStatements <= Math.max(1, flushes) && load.failures === 0
      }
    ]
  } else {
    notes.push("Redis did not answer at 127.0.0.1:6379: the BullMQ lag and writes were not measured.")
  }

  return [
    {
      id: 4,
      title: "Writes per 10 000 verifications, lag to lastUsedAt",
      rows: [
        {
          label: "writes on the verify path per 10 000 verifications",
          value: counted.onVerifyPath,
          unit: "statements",
          baselineLabel: "naive UPDATE",
          baseline: VERIFICATIONS,
          ratio: counted.onVerifyPath / VERIFICATIONS,
          target: "0",
          met: counted.onVerifyPath === 0
        },
        {
          label: "statements per flush (10 000 verifications, 100 keys)",
          value: counted.perFlush,
          unit: "statements",
          target: "≤ 1",
          met: counted.perFlush <= 1
        },
        {
          label: "lag to lastUsedAt, direct sink (embedded), p50",
          value: embeddedLag.p50,
          unit: "ms",
          baselineLabel: "naive UPDATE",
          baseline: counted.naiveLag,
          ratio: embeddedLag.p50 / counted.naiveLag,
          target: `informative (flush every ${FLUSH_MS} ms)`
        },
        {
          label: "lag to lastUsedAt, direct sink (embedded), p99",
          value: embeddedLag.p99,
          unit: "ms",
          target: "≤ flush interval + 1 s",
          met: embeddedLag.p99 <= FLUSH_MS + 1_000
        },
        ...queueRows
      ],
      parameters: {
        verifications: VERIFICATIONS,
        keys: KEYS,
        lagSamples: LAG_SAMPLES,
        flushIntervalMs: FLUSH_MS
      },
      notes: [
        `In process: ${counted.onVerifyPath} statements during ${VERIFICATIONS} warm verifications (${counted.verifySeconds.toFixed(2)} s), then ${counted.perFlush} for the flush; the naive design issues ${VERIFICATIONS} UPDATEs (${counted.naiveSeconds.toFixed(2)} s of writes${NAIVE_TIMED < VERIFICATIONS ? `, extrapolated from ${NAIVE_TIMED} timed` : ""}, p50 ${counted.naiveLag.toFixed(2)} ms each — its lag).`,
        "Lag: time from GET /v1/auth answering 200 on a never-used key to the row's last_used_at being set, polled every 5 ms; verifications start at random phases of the flush cycle.",
        ...notes
      ],
      limits:
        "Lag is bounded by the flush interval (KEYS_USAGE_FLUSH_MS, 1 s) plus the queue hop and one batch statement: on average half an interval. Writes are one statement per flush whatever the verification rate, bounded by usageMaxPendingKeys distinct keys per batch."
    }
  ]
}
