/**
 * The worker's own HTTP surface (`/healthz`, `/metrics` on WORKER_PORT) and its shutdown on SIGTERM.
 */
import { BullMqUsageSink } from "@keys/bullmq"
import { ApiKeys, KeysConfig, Notifier, UsageSink } from "@keys/core"
import { Effect, Layer, Redacted } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import * as WorkerApp from "../src/WorkerApp.js"
import {
  freePort,
  onCleanup,
  runCleanups,
  SHARED_REDIS_URL,
  setup,
  spawnWorker,
  start,
  startWorker,
  waitFor
} from "./helpers.js"

afterEach(runCleanups)

const metricValue = (body: string, name: string): number | undefined => {
  const line = body.split("\n").find((candidate) => candidate.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

describe("worker health", () => {
  it("answers /healthz and /metrics (usage statements, notifications sent, queue depths)", {
    timeout: 60_000
  }, async () => {
    const { database, redis, seed } = await setup()
    const worker = await startWorker(database.url, redis, KeysConfig.layer(), Notifier.layerLog)
    onCleanup(worker.close)
    const { url } = await worker.run(WorkerApp.WorkerServer)

    const health = await fetch(`${url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: "ok" })
    const missing = await fetch(`${url}/nope`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ code: "not_found" })

    const metrics = async () => {
      const response = await fetch(`${url}/metrics`)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/)
      return response.text()
    }
    const first = await metrics()
    expect(metricValue(first, "keys_worker_usage_statements_total")).toBe(0)
    expect(metricValue(first, "keys_worker_notifications_sent_total")).toBe(0)
    for (const queue of ["usage", "expiry-scan", "deliveries"]) {
      for (const state of ["waiting", "active", "delayed", "failed"]) {
        expect(first).toMatch(
          new RegExp(`^keys_worker_queue_jobs\\{queue="${queue}",state="${state}"\\} \\d+$`, "m")
        )
      }
    }

    // One usage batch through the queue: the statement counter and the job durations move.
    const created = await seed.run(
      Effect.flatMap(ApiKeys.ApiKeys, (keys) => keys.create({ teamId: "health", name: "metrics" }))
    )
    const sink = await start(BullMqUsageSink.layer.pipe(Layer.provide(redis)))
    onCleanup(sink.close)
    await sink.run(
      Effect.flatMap(UsageSink.UsageSink, (usage) =>
        usage.send({
          id: "ub_health_1",
          entries: [{ keyId: created.key.id, lastUsedAt: new Date(), count: 3 }]
        })
      )
    )
    await waitFor(async () => metricValue(await metrics(), "keys_worker_usage_statements_total") === 1, {
      timeout: 15_000,
      message: "keys_worker_usage_statements_total 1"
    })
    const after = await metrics()
    expect(metricValue(after, "keys_worker_usage_jobs_total")).toBe(1)
    expect(after).toMatch(/^keys_worker_job_duration_seconds_count\{job="usage"\} 1$/m)
    const counted = await database.pool.query<{ count: string }>(
      "select count::text from key_usage_daily where key_id = $1",
      [created.key.id]
    )
    expect(counted.rows.map((row) => Number(row.count))).toEqual([3])
  })

  // BUG (packages/bullmq/src/Workers.ts:76-83 `takeWaiting` and :127-133 its `Effect.forever` loop,
  // forked by apps/worker/src/WorkerApp.ts:63 with `Effect.forkScoped`): when
  // the scope closes, the usage BullMQ worker's `close()` finalizer runs before the consumer fiber
  // is interrupted (the fiber registered its resources in the layer's scope after `forkScoped`
  // registered the interruption). From then on `worker.getNextJob(token, { block: true })` returns
  // `undefined` at once (BullMQ answers nothing while closing), `takeWaiting` yields `[]`, and the
  // loop calls it again in an endless chain of microtasks: the event loop starves, the remaining
  // finalizers (which need I/O) never run, and the process spins at 100 % CPU. `main.ts` therefore
  // never exits on SIGTERM (measured: still running, ~60 % CPU, 20 s after SIGTERM), and closing
  // `WorkerApp.make`'s layer in process hangs forever. It should stop taking jobs, finish the batch
  // in hand, close its connections and exit 0 (e.g. end the loop when `getNextJob` answers nothing
  // while the worker is closing, or interrupt the consumer before closing the BullMQ worker).

  it("SIGTERM: main.ts stops gracefully and exits 0", { timeout: 60_000 }, async () => {
    const { database, prefix } = await setup()
    const port = await freePort()
    const worker = spawnWorker({
      DATABASE_URL: Redacted.value(database.url),
      REDIS_URL: SHARED_REDIS_URL,
      KEYS_REDIS_PREFIX: prefix,
      WORKER_PORT: String(port)
    })
    onCleanup(worker.kill)
    await waitFor(
      async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200
        } catch {
          return false
        }
      },
      { timeout: 30_000, message: () => `the worker's /healthz; output:\n${worker.output()}` }
    )
    worker.child.kill("SIGTERM")
    const exit = await Promise.race([
      worker.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running 20 s after SIGTERM"), 20_000))
    ])
    expect(exit).toBe(0)
  })
})
