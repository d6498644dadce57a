import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import {
  ApiKeys,
  Invalidations,
  KeyRepository,
  KeysConfig,
  SecureRandom,
  UsageRecorder,
  UsageSink
} from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { keyRepositorySuite, makeRecord } from "@keys/core/testing/suite"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import * as PgKeyRepository from "../src/PgKeyRepository.js"
import * as PgMigrations from "../src/PgMigrations.js"
import { countingPool, freshDatabase } from "./helpers.js"

/** A repository on a fresh database with the migrations applied. */
const repositoryOnFreshDatabase = Layer.unwrapScoped(
  Effect.map(freshDatabase, ({ url }) => {
    const client = PgClient.layer({ url, maxConnections: 4 })
    return PgKeyRepository.layer().pipe(
      Layer.provideMerge(Layer.merge(client, PgMigrations.layer.pipe(Layer.provide(client))))
    )
  })
)

keyRepositorySuite("postgres", repositoryOnFreshDatabase)

describe("PgKeyRepository on PostgreSQL", () => {
  it.scoped(
    "writes 10 000 verifications over 100 keys in one statement per flush, and none on the verification path",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const { counter, pool } = countingPool(Redacted.value(url))
        const client = PgClient.layerFromPool({
          acquire: Effect.acquireRelease(Effect.succeed(pool), (p) => Effect.promise(() => p.end()))
        })
        const store = PgKeyRepository.layer().pipe(
          Layer.provideMerge(Layer.merge(client, PgMigrations.layer.pipe(Layer.provide(client))))
        )
        const services = ApiKeys.layerWithCompanions.pipe(
          Layer.provideMerge(UsageSink.layerDirect),
          Layer.provideMerge(store),
          Layer.provide(
            Layer.mergeAll(
              KeyHasherLive,
              SecureRandom.layer,
              Invalidations.layerInProcess,
              KeysConfig.layer({ usageFlushInterval: Duration.hours(1) })
            )
          )
        )
        const context = yield* Layer.build(services)
        const keys = context.unsafeMap.get(ApiKeys.ApiKeys.key) as ApiKeys.ApiKeys["Type"]
        const recorder = context.unsafeMap.get(
          UsageRecorder.UsageRecorder.key
        ) as UsageRecorder.UsageRecorder["Type"]
        const repository = context.unsafeMap.get(
          KeyRepository.KeyRepository.key
        ) as KeyRepository.KeyRepository["Type"]
        const created = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => keys.create({ teamId: "team_batch", name: `k${i}` })
        )
        for (const key of created) yield* keys.verify(key.secret) // warm: one read per key
        const beforeVerifications = counter.statements
        for (let i = 0; i < 10_000; i++) yield* keys.verify(created[i % 100]!.secret)
        expect(counter.statements - beforeVerifications).toBe(0)
        const beforeFlush = counter.statements
        yield* recorder.flush
        expect(counter.statements - beforeFlush).toBe(1)
        expect(counter.texts.at(-1)).toContain("usage_batches")
        const usage = yield* repository.dailyUsage("team_batch", created[0]!.key.id, 1)
        expect(usage[0]?.count).toBe(101)
        const listed = yield* keys.list({ teamId: "team_batch", limit: 100 })
        expect(listed.data.every((key) => key.lastUsedAt !== null)).toBe(true)
      }),
    60_000
  )

  it.scoped("applies replayed and reordered batches without moving last use back or counting twice", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const client = PgClient.layer({ url, maxConnections: 2 })
      const context = yield* Layer.build(
        PgKeyRepository.layer().pipe(
          Layer.provideMerge(Layer.merge(client, PgMigrations.layer.pipe(Layer.provide(client))))
        )
      )
      const repository = context.unsafeMap.get(
        KeyRepository.KeyRepository.key
      ) as KeyRepository.KeyRepository["Type"]
      const key = makeRecord({ teamId: "team_replay" })
      yield* repository.insert(key, {
        id: "evt_replay",
        teamId: key.teamId,
        keyId: key.id,
        action: "key.created",
        actorKeyId: null,
        at: key.createdAt,
        changes: {}
      })
      const newer = {
        id: "ub_newer",
        entries: [{ keyId: key.id, lastUsedAt: new Date("2030-01-02T10:00:00Z"), count: 5 }]
      }
      const older = {
        id: "ub_older",
        entries: [{ keyId: key.id, lastUsedAt: new Date("2030-01-02T09:00:00Z"), count: 3 }]
      }
      yield* repository.applyUsageBatches([newer])
      yield* repository.applyUsageBatches([older])
      yield* repository.applyUsageBatches([newer])
      yield* Effect.all([repository.applyUsageBatches([older]), repository.applyUsageBatches([newer])], {
        concurrency: 2
      })
      const stored = Option.getOrThrow(yield* repository.findById("team_replay", key.id))
      expect(stored.lastUsedAt).toEqual(new Date("2030-01-02T10:00:00Z"))
      expect(yield* repository.dailyUsage("team_replay", key.id, 5)).toEqual([
        { day: "2030-01-02", count: 8 }
      ])
    })
  )

  it.scoped("migrates idempotently, and safely from three clients racing on a fresh database", () =>
    Effect.gen(function* () {
      const { url } = yield* freshDatabase
      const runOnOwnClient = Effect.scoped(
        Effect.flatMap(Layer.build(PgClient.layer({ url, maxConnections: 1 })), (context) =>
          Effect.provide(PgMigrations.run, context)
        )
      )
      const results = yield* Effect.all([runOnOwnClient, runOnOwnClient, runOnOwnClient], { concurrency: 3 })
      const all = Object.keys(PgMigrations.migrations).length
      expect(results.map((applied) => applied.length).sort()).toEqual([0, 0, all])
      expect(yield* runOnOwnClient).toEqual([])
      const tables = yield* Effect.scoped(
        Effect.flatMap(Layer.build(PgClient.layer({ url, maxConnections: 1 })), (context) =>
          Effect.provide(
            Effect.flatMap(
              SqlClient.SqlClient,
              (sql) =>
                sql<{ readonly name: string }>`select table_name as name from information_schema.tables
                where table_schema = 'public' order by table_name`
            ),
            context
          )
        )
      )
      expect(tables.map((table) => table.name)).toEqual([
        "audit_events",
        "key_notifications",
        "key_usage_daily",
        "keys",
        "keys_migrations",
        "notification_deliveries",
        "usage_batches"
      ])
    })
  )

  it.scoped(
    "migrates safely from three processes started at once",
    () =>
      Effect.gen(function* () {
        const { url } = yield* freshDatabase
        const { spawn } = yield* Effect.promise(() => import("node:child_process"))
        const script = new URL("./fixtures/migrate.ts", import.meta.url).pathname
        const runProcess = Effect.async<{ code: number | null; output: string }>((resume) => {
          const child = spawn(process.execPath, ["--import", "tsx", script], {
            env: { ...process.env, DATABASE_URL: Redacted.value(url) },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let output = ""
          child.stdout.on("data", (chunk) => (output += chunk))
          child.stderr.on("data", (chunk) => (output += chunk))
          child.on("exit", (code) => resume(Effect.succeed({ code, output })))
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        const results = yield* Effect.all([runProcess, runProcess, runProcess], { concurrency: 3 })
        for (const result of results) expect(result.code, result.output).toBe(0)
        const applied = results.map((result) => Number(/applied (\d+)/.exec(result.output)?.[1] ?? -1)).sort()
        expect(applied).toEqual([0, 0, Object.keys(PgMigrations.migrations).length])
      }),
    90_000
  )
})
