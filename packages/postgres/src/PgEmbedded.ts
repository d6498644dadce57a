/**
 * The embedded default: PGlite (PostgreSQL compiled to WASM) stored under a data directory, served to
 * `@effect/sql-pg` over a loopback socket so embedded mode runs the same SQL and migrations as
 * production.
 *
 * PGlite is one shared Postgres session, so the pool holds a single connection (transactions from two
 * connections would interleave or deadlock). Two processes opening one directory silently corrupt it,
 * so the directory is guarded by a lockfile naming its holder; a lock whose holder is dead is taken over.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Effect, Layer, Redacted, Schema } from "effect"

export class EmbeddedDatabaseError extends Schema.TaggedError<EmbeddedDatabaseError>()(
  "EmbeddedDatabaseError",
  {
    message: Schema.String,
    dataDir: Schema.String,
    /** The live process holding the directory, when that is the problem. */
    holderPid: Schema.optional(Schema.Number),
    cause: Schema.optional(Schema.Defect)
  }
) {}

export interface PgEmbeddedOptions {
  readonly dataDir: string
}

export const LOCK_FILE = "keys.lock"
/** PGlite's files live in a subdirectory, apart from our lockfile and anything else we keep later. */
export const PGDATA_DIR = "pgdata"

const POOL_SIZE = 1
/** One above the pool, so a replacement connection is accepted while a dropped one is still detaching. */
const SOCKET_MAX_CONNECTIONS = POOL_SIZE + 1
/** A lockfile with no readable holder may be one being written right now: only older ones are stale. */
const UNREADABLE_LOCK_GRACE_MILLIS = 5_000
const TAKEOVER_ATTEMPTS = 3

interface LockHolder {
  readonly pid: number
  readonly startedAt: string
}

/**
 * Directories this process holds, by absolute path. A lock naming our own pid is ours only if it is
 * listed here; otherwise it was left by an earlier process that had the same pid (pid 1 in every
 * container run, say) and is stale.
 */
const heldByThisProcess = new Set<string>()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

const readHolder = (content: string): LockHolder | undefined => {
  try {
    const parsed: unknown = JSON.parse(content)
    if (typeof parsed === "object" && parsed !== null && Number.isInteger((parsed as LockHolder).pid)) {
      return parsed as LockHolder
    }
  } catch {
    // Empty or partial: its writer died between creating and writing it, or is writing it now.
  }
  return undefined
}

const errnoCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

interface Lock {
  readonly file: string
  readonly content: string
}

/**
 * Creates the lockfile with O_CREAT|O_EXCL, so exactly one opener wins. An existing lock held by a
 * live process is refused; a stale one is renamed aside and removed (a rename has one winner, so two
 * openers cannot both break it), and creation is tried again.
 */
const acquireLockSync = (dataDir: string): Lock => {
  const absoluteDir = path.resolve(dataDir)
  const file = path.join(absoluteDir, LOCK_FILE)
  const fail = (message: string, extra?: { readonly holderPid?: number; readonly cause?: unknown }) =>
    new EmbeddedDatabaseError({ message, dataDir, ...extra })
  const inUse = (pid: number) =>
    fail(
      `data directory ${dataDir} is in use by another keys process (pid ${pid}); stop it or set KEYS_DATA_DIR to another directory`,
      { holderPid: pid }
    )

  if (heldByThisProcess.has(absoluteDir)) throw inUse(process.pid)
  fs.mkdirSync(absoluteDir, { recursive: true })

  for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
    const content = JSON.stringify({
      pid: process.pid,
      startedAt: new Date().toISOString()
    } satisfies LockHolder)
    try {
      const fd = fs.openSync(file, "wx")
      try {
        fs.writeSync(fd, content)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      heldByThisProcess.add(absoluteDir)
      return { file, content }
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error
    }

    let existing: string
    try {
      existing = fs.readFileSync(file, "utf8")
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue // released meanwhile: try again
      throw error
    }
    const holder = readHolder(existing)
    if (holder === undefined) {
      const modifiedAt = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs
      if (modifiedAt === undefined) continue // released meanwhile: try again
      if (Date.now() - modifiedAt < UNREADABLE_LOCK_GRACE_MILLIS) {
        throw fail(`data directory ${dataDir} is being opened by another keys process; try again in a moment`)
      }
    } else if (holder.pid !== process.pid && isAlive(holder.pid)) {
      throw inUse(holder.pid)
    }

    const aside = `${file}.stale.${process.pid}.${attempt}`
    try {
      fs.renameSync(file, aside)
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue // another opener broke it first
      throw error
    }
    // Between our read and our rename another opener may have broken the stale lock and taken a fresh
    // one: if what we moved is not what we judged stale, put it back (link fails if a lock exists).
    if (fs.readFileSync(aside, "utf8") !== existing) {
      try {
        fs.linkSync(aside, file)
      } catch {
        // A newer lock is already in place; ours to discard either way.
      }
    }
    fs.unlinkSync(aside)
  }
  throw fail(`could not lock data directory ${dataDir}: the lockfile ${file} keeps changing`)
}

/** Removes the lockfile if it is still the one we wrote. */
const releaseLockSync = (dataDir: string, lock: Lock): void => {
  heldByThisProcess.delete(path.resolve(dataDir))
  try {
    if (fs.readFileSync(lock.file, "utf8") === lock.content) fs.unlinkSync(lock.file)
  } catch {
    // Already gone.
  }
}

const acquireLock = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => acquireLockSync(dataDir),
      catch: (error) =>
        error instanceof EmbeddedDatabaseError
          ? error
          : new EmbeddedDatabaseError({
              message: `could not lock data directory ${dataDir}: ${(error as Error).message}`,
              dataDir,
              cause: error
            })
    }),
    (lock) => Effect.sync(() => releaseLockSync(dataDir, lock))
  )

/** Finalizers log and carry on: a failed close must not keep the rest (the lock above all) held. */
const closeOrWarn = (what: string, close: () => Promise<void>) =>
  Effect.tryPromise(close).pipe(
    Effect.catchAll((error) => Effect.logWarning(`embedded database: could not close ${what}`, error.cause))
  )

const openPGlite = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => PGlite.create(path.join(dataDir, PGDATA_DIR)),
      catch: (cause) =>
        new EmbeddedDatabaseError({
          message: `could not open the embedded database in ${dataDir}: ${(cause as Error).message}`,
          dataDir,
          cause
        })
    }),
    (db) => closeOrWarn("PGlite", () => db.close())
  )

const startSocketServer = (db: PGlite, dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        // Port 0: the OS picks a free port; `start` records the real one.
        const server = new PGLiteSocketServer({
          db,
          host: "127.0.0.1",
          port: 0,
          maxConnections: SOCKET_MAX_CONNECTIONS
        })
        await server.start()
        return server
      },
      catch: (cause) =>
        new EmbeddedDatabaseError({
          message: `could not serve the embedded database on 127.0.0.1: ${(cause as Error).message}`,
          dataDir,
          cause
        })
    }),
    (server) => closeOrWarn("the socket server", () => server.stop())
  )

/**
 * A `PgClient` on PGlite in `dataDir` (created if missing). Resources are acquired in order lock →
 * PGlite → socket server → pool, and released in reverse when the layer's scope closes, so the lock
 * is dropped only once the database files are closed. A new directory takes seconds to initialise.
 */
export const layer = (
  options: PgEmbeddedOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, EmbeddedDatabaseError> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const { dataDir } = options
      yield* acquireLock(dataDir)
      const db = yield* openPGlite(dataDir)
      const server = yield* startSocketServer(db, dataDir)
      const url = Redacted.make(`postgres://postgres@${server.getServerConn()}/postgres`)
      return PgClient.layer({ url, maxConnections: POOL_SIZE }).pipe(
        Layer.mapError(
          (cause) =>
            new EmbeddedDatabaseError({
              message: `could not connect to the embedded database in ${dataDir}: ${cause.message}`,
              dataDir,
              cause
            })
        )
      )
    })
  )
