/**
 * Figure 2. HTTP verification, warm cache, 50 connections (autocannon in this process): the API's
 * `POST /v1/keys/verify` and `GET /v1/auth`, the API in its own process on a fresh database, beside a
 * bare node:http SHA-256 + Map.get server under the same load, in interleaved rounds.
 */
import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { onCleanup } from "../lib/Cleanup.js"
import { createDatabase, insertKeys, keySet, migrate, connect } from "../lib/Database.js"
import { autocannonRun, CONNECTIONS, type HttpLoad } from "../lib/Load.js"
import { pick, runId, progress } from "../lib/Mode.js"
import { startApi, startScript } from "../lib/Processes.js"
import { median } from "../lib/Stats.js"
import type { Figure, Row } from "../Report.js"

const DURATION = pick(1.5, 10)
const WARMUP = pick(0.5, 2)
const ROUNDS = pick(1, 3)
const ROOT_SCOPES = ["keys:read", "keys:write", "keys:verify"]

export const run = async (): Promise<ReadonlyArray<Figure>> => {
  const database = await createDatabase("http")
  await migrate(database.url)
  const client = await connect(database.url)
  const roots = keySet("bench", "root", ROOT_SCOPES)
  const keys = keySet("bench", "send", ["send"])
  await insertKeys(client, roots, 1)
  await insertKeys(client, keys, 1)
  await client.end()
  const root = roots.tokens[0]!
  const key = keys.tokens[0]!

  const tokensFile = join(tmpdir(), `keys-bench-${runId}-tokens-${process.pid}.txt`)
  writeFileSync(tokensFile, `${root}\n${key}\n`)
  onCleanup(() => rmSync(tokensFile, { force: true }))
  const [api, bare] = await Promise.all([
    startApi("api", { DATABASE_URL: database.url }),
    startScript("bare node:http baseline", "baseline/http-baseline.mjs", { BASELINE_TOKENS_FILE: tokensFile })
  ])
  progress("API and bare server started")

  const verify = (url: string) => ({
    url: `${url}/v1/keys/verify`,
    method: "POST" as const,
    headers: { authorization: `Bearer ${root}`, "content-type": "application/json" },
    body: JSON.stringify({ key, scopes: ["send"] })
  })
  const auth = (url: string) => ({
    url: `${url}/v1/auth?scopes=send`,
    headers: { authorization: `Bearer ${key}` }
  })
  for (const target of [api.url, bare.url]) {
    await autocannonRun({ ...verify(target), duration: WARMUP })
    await autocannonRun({ ...auth(target), duration: WARMUP })
  }

  const endpoints = [
    { name: "POST /v1/keys/verify", request: verify },
    { name: "GET /v1/auth", request: auth }
  ] as const
  const rows: Array<Row> = []
  const notes: Array<string> = []
  for (const endpoint of endpoints) {
    const ours: Array<HttpLoad> = []
    const baseline: Array<HttpLoad> = []
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(await autocannonRun({ ...endpoint.request(api.url), duration: DURATION }))
      baseline.push(await autocannonRun({ ...endpoint.request(bare.url), duration: DURATION }))
    }
    const ratio = median(ours.map((load, i) => load.rps / baseline[i]!.rps))
    const p99 = median(ours.map((load) => load.p99))
    const failures = ours.reduce((sum, load) => sum + load.failures, 0)
    rows.push({
      label: `${endpoint.name}, throughput`,
      value: median(ours.map((load) => load.rps)),
      unit: "req/s",
      baselineLabel: "bare node:http",
      baseline: median(baseline.map((load) => load.rps)),
      ratio,
      target: "≥ 0.70×",
      met: ratio >= 0.7 && failures === 0
    })
    rows.push({
      label: `${endpoint.name}, p99 latency`,
      value: p99,
      unit: "ms",
      baselineLabel: "bare node:http",
      baseline: median(baseline.map((load) => load.p99)),
      target: "< 5 ms",
      met: p99 < 5 && failures === 0
    })
    notes.push(
      `${endpoint.name}: p50 ${median(ours.map((load) => load.p50))} ms (bare ${median(baseline.map((load) => load.p50))} ms); ${failures} failed or non-2xx responses of ${ours.reduce((sum, load) => sum + load.total, 0)}.`
    )
  }
  await Promise.all([api.stop(), bare.stop()])
  await database.drop()
  return [
    {
      id: 2,
      title: "HTTP verification, warm cache, 50 connections",
      rows,
      parameters: {
        connections: CONNECTIONS,
        secondsPerRun: DURATION,
        rounds: ROUNDS,
        warmupSeconds: WARMUP
      },
      notes: [
        ...notes,
        "The API runs from apps/api/src/main.ts (tsx) on a fresh PostgreSQL database, embedded jobs; autocannon runs in the harness process. POST /v1/keys/verify authenticates a root key and then verifies the key in the body (two verifications per request); the baseline hashes only the body's key.",
        "autocannon reports latency in whole milliseconds."
      ],
      limits:
        "Two cores shared by the load generator and the server: the bare server's figure is partly bounded by autocannon itself, which flatters neither side. Per request the API pays what the bare server does (Node's HTTP parsing and one socket write, most of the CPU in a profile) plus token parsing, the cache lookup, the contract's headers (x-key-id, x-team-id, x-key-environment, x-key-scopes, x-request-id), metrics and, for POST /v1/keys/verify, a second verification (the root key) and the key's JSON. Both sides hash with the same one-shot SHA-256."
    }
  ]
}
