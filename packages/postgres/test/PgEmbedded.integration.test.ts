import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import * as PgEmbedded from "../src/PgEmbedded.js"

/** PGlite initialises a new directory in seconds, not milliseconds. */
const TIMEOUT = 60_000

/** A temporary data directory (not yet created: the layer must create it), removed with the scope. */
const tempDataDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "keys-embedded-"))),
  (root) => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))
).pipe(Effect.map((root) => path.join(root, ".keys")))

const lockFile = (dataDir: string) => path.join(dataDir, PgEmbedded.LOCK_FILE)

/** Opens the embedded database in `scope`, returning its SQL client. */
const openIn = (dataDir: string, scope: Scope.Scope) =>
  Layer.buildWithScope(PgEmbedded.layer({ dataDir }), scope).pipe(
    Effect.map((context) => Effect.provide(context))
  )

/** The pid of a process that has already exited. */
const deadPid = Effect.async<number>((resume) => {
  const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" })
  child.once("exit", () => resume(Effect.succeed(child.pid!)))
})

/** The pid of a process that stays alive until the scope closes. */
const livePid = Effect.acquireRelease(
  Effect.sync(() => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" })),
  (child) => Effect.sync(() => child.kill())
).pipe(Effect.map((child) => child.pid!))

const writeLock = (dataDir: string, pid: number) => {
  fs.mkdirSync(dataDir, { recursive: true })
  fs.writeFileSync(lockFile(dataDir), JSON.stringify({ pid, startedAt: new Date().toISOString() }))
}

describe("PgEmbedded", () => {
  it.scopedLive(
    "keeps data across a close and a reopen, and removes its lock on close",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir

        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`create table notes (id int primary key, body text not null)`
          yield* sql`insert into notes values (1, 'kept')`
        }).pipe(Effect.provide(PgEmbedded.layer({ dataDir })))
        expect(fs.existsSync(lockFile(dataDir))).toBe(false)

        const rows = yield* Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`select id, body from notes`
        ).pipe(Effect.provide(PgEmbedded.layer({ dataDir })))
        expect(rows).toEqual([{ id: 1, body: "kept" }])
      }),
    TIMEOUT
  )

  it.scopedLive(
    "refuses a second open of a directory in use, naming the holder's pid",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir
        const first = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(first, Exit.void))
        const withFirst = yield* openIn(dataDir, first)
        const holder = JSON.parse(fs.readFileSync(lockFile(dataDir), "utf8"))
        expect(holder).toMatchObject({ pid: process.pid })

        const error = yield* Effect.flip(Effect.scoped(Layer.build(PgEmbedded.layer({ dataDir }))))
        expect(error).toBeInstanceOf(PgEmbedded.EmbeddedDatabaseError)
        expect(error.holderPid).toBe(process.pid)
        expect(error.message).toBe(
          `data directory ${dataDir} is in use by another keys process (pid ${process.pid}); stop it or set KEYS_DATA_DIR to another directory`
        )

        // The refused open left the holder's lock and database alone.
        expect(JSON.parse(fs.readFileSync(lockFile(dataDir), "utf8"))).toEqual(holder)
        const [row] = yield* withFirst(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`select 1 as one`))
        expect(row).toEqual({ one: 1 })
      }),
    TIMEOUT
  )

  it.scopedLive(
    "refuses a directory locked by another live process, leaving its lock alone",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir
        const pid = yield* livePid
        writeLock(dataDir, pid)
        const lock = fs.readFileSync(lockFile(dataDir), "utf8")

        const error = yield* Effect.flip(Effect.scoped(Layer.build(PgEmbedded.layer({ dataDir }))))
        expect(error).toBeInstanceOf(PgEmbedded.EmbeddedDatabaseError)
        expect(error.holderPid).toBe(pid)
        expect(error.message).toContain(`in use by another keys process (pid ${pid})`)
        expect(fs.readFileSync(lockFile(dataDir), "utf8")).toBe(lock)
        expect(fs.existsSync(path.join(dataDir, PgEmbedded.PGDATA_DIR))).toBe(false)
      }),
    TIMEOUT
  )

  it.scopedLive(
    "takes over a lock left by a process that has died",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir
        writeLock(dataDir, yield* deadPid)

        const scope = yield* Scope.make()
        const withDatabase = yield* openIn(dataDir, scope)
        expect(JSON.parse(fs.readFileSync(lockFile(dataDir), "utf8"))).toMatchObject({ pid: process.pid })
        const [row] = yield* withDatabase(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`select 1 as one`))
        expect(row).toEqual({ one: 1 })

        yield* Scope.close(scope, Exit.void)
        expect(fs.existsSync(lockFile(dataDir))).toBe(false)
      }),
    TIMEOUT
  )
})
