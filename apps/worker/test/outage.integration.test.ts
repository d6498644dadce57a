/**
 * Redis stopped for 10 seconds under verification load, on a private redis-server (never the shared
 * instance): verifications keep succeeding, and the usage recorded during the outage reaches
 * PostgreSQL once Redis is back.
 */
import { ApiKeys, KeysConfig, Notifier, RootKeys } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { Duration, Effect, Layer, LogLevel, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as App from "../../api/src/App.js"
import * as Http from "../../api/src/Http.js"
import {
  freePort,
  listen,
  onCleanup,
  privateRedis,
  quiet,
  runCleanups,
  setup,
  start,
  startWorker,
  waitFor
} from "./helpers.js"

afterEach(runCleanups)

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))
const settings = KeysConfig.layer({ usageFlushInterval: Duration.millis(200) })

describe("a Redis outage under verification load", () => {
  it("verifications keep succeeding for 10 s without Redis; the usage arrives once it is back", {
    timeout: 120_000
  }, async () => {
    const server = privateRedis(await freePort())
    await server.start()
    onCleanup(server.stop)
    const { database, redis, seed } = await setup(server.url)

    const team = "outage"
    const steady = await seed.run(
      Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
        Effect.forEach([0, 1, 2], (i) => keys.create({ teamId: team, name: `steady ${i}` }))
      )
    )
    // Keys verified only while Redis is down: their usage can only arrive through the merged retry.
    const outageOnly = await seed.run(
      Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
        Effect.forEach([0, 1], (i) => keys.create({ teamId: team, name: `outage only ${i}` }))
      )
    )
    const root = await seed.run(RootKeys.create({ teamId: team, name: "verifier", admin: false }))

    const api = await start(
      // Error level: the API warns on every failed flush while Redis is down, as it should.
      App.make(PgStore.layer({ url: database.url }), settings, listen, { _tag: "Queues", redis }).pipe(
        Layer.provide(quiet(LogLevel.Error))
      )
    )
    onCleanup(api.close)
    const worker = await startWorker(database.url, redis, settings, Notifier.layerLog)
    onCleanup(worker.close)
    const { url: apiUrl } = await api.run(Http.ApiServer)

    // Continuous verification over HTTP, one every ~10 ms, for the whole test.
    const results: Array<{
      readonly keyId: string
      readonly at: number
      readonly ok: boolean
      readonly phase: string
    }> = []
    const lastStarted = new Map<string, number>()
    const state: { phase: "before" | "outage" | "after" } = { phase: "before" }
    let running = true
    const verifyUrl = `${apiUrl}/v1/keys/verify`
    const loop = (async () => {
      let i = 0
      while (running) {
        const pool = state.phase === "outage" ? [...steady, ...outageOnly] : steady
        const target = pool[i++ % pool.length]!
        // The phase the request was made in: the outage may end while it is in flight.
        const phase = state.phase
        const at = Date.now()
        lastStarted.set(target.key.id, at)
        let ok = false
        try {
          const response = await fetch(verifyUrl, {
            method: "POST",
            headers: {
              authorization: `Bearer ${Redacted.value(root.secret)}`,
              "content-type": "application/json"
            },
            body: JSON.stringify({ key: Redacted.value(target.secret) })
          })
          const body = (await response.json()) as { valid?: boolean }
          ok = response.status === 200 && body.valid === true
        } catch {
          ok = false
        }
        results.push({ keyId: target.key.id, at, ok, phase })
        await sleep(10)
      }
    })()
    onCleanup(async () => {
      running = false
      await loop
    })

    const lastUsed = async (ids: ReadonlyArray<string>) =>
      (
        await database.pool.query<{ id: string; last_used_at: Date | null }>(
          "select id, last_used_at from keys where id = any($1)",
          [ids]
        )
      ).rows
    const reflects = async (ids: ReadonlyArray<string>, since: (id: string) => number) =>
      (await lastUsed(ids)).every(
        (row) => row.last_used_at !== null && row.last_used_at.getTime() >= since(row.id)
      )
    const steadyIds = steady.map((c) => c.key.id)
    const outageIds = outageOnly.map((c) => c.key.id)

    // Usage flows while Redis is up.
    await sleep(1_000)
    const beforeOutage = new Map(lastStarted)
    await waitFor(() => reflects(steadyIds, (id) => beforeOutage.get(id)!), {
      timeout: 10_000,
      message: "usage before the outage"
    })

    // Stop Redis for 10 seconds, verifying all along.
    await server.stop()
    state.phase = "outage"
    await sleep(10_000)
    const duringOutage = new Map(lastStarted)
    state.phase = "after"
    await server.start()

    // Keep verifying a little after Redis is back, then stop.
    await sleep(2_000)
    running = false
    await loop
    const lastOverall = new Map(lastStarted)

    const outageResults = results.filter((result) => result.phase === "outage")
    expect(results.every((result) => result.ok)).toBe(true)
    // Verifications were not held up by the outage (a loose bound: ~1 000 fit in 10 s).
    expect(outageResults.length).toBeGreaterThan(50)

    // Within 15 s of Redis coming back, every last verification is reflected: the outage-only keys
    // got their usage from the batch the API kept merging while Redis was down.
    await waitFor(
      async () =>
        (await reflects(outageIds, (id) => duringOutage.get(id)!)) &&
        (await reflects(steadyIds, (id) => lastOverall.get(id)!)),
      { timeout: 15_000, interval: 250, message: "usage after Redis came back" }
    )
    for (const row of await lastUsed(outageIds)) {
      expect(row.last_used_at!.getTime()).toBeGreaterThanOrEqual(duringOutage.get(row.id)!)
    }
    // Counts of the outage-only keys: every verification of theirs counted once (they are only
    // verified in requests made during the outage).
    const counts = await database.pool.query<{ key_id: string; count: string }>(
      "select key_id, sum(count)::text as count from key_usage_daily where key_id = any($1) group by key_id",
      [outageIds]
    )
    const counted = new Map(counts.rows.map((row) => [row.key_id, Number(row.count)]))
    for (const id of outageIds) {
      expect(counted.get(id)).toBe(outageResults.filter((result) => result.keyId === id).length)
    }
  })
})
