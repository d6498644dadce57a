/**
 * Databases on the machine's PostgreSQL (127.0.0.1:5432, trust auth): one fresh database per use,
 * named after the run so the harness can drop anything left behind; keys inserted straight in SQL
 * (real tokens, real SHA-256 hashes, `unnest` batches); statement counting; server statistics.
 */
import { sha256Hex as hashWithTheCore } from "@keys/core/node"
import { randomBytes } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import type { ApiKey } from "@keys/core"
import { KeyFormat } from "@keys/core"
import { PgMigrations } from "@keys/postgres"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { onCleanup } from "./Cleanup.js"
import { runId } from "./Mode.js"

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"
export const DATABASE_PREFIX = "keys_bench_"

export const withAdmin = async <A>(run: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

export const urlFor = (database: string): string => {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

export interface Database {
  readonly name: string
  readonly url: string
  readonly drop: () => Promise<void>
}

export const dropDatabase = (name: string): Promise<void> =>
  withAdmin((client) => client.query(`drop database if exists ${name} with (force)`)).then(
    () => undefined,
    () => undefined
  )

/** A new empty database, dropped at cleanup (or earlier with `drop`). */
export const createDatabase = async (label: string): Promise<Database> => {
  const name = `${DATABASE_PREFIX}${runId}_${label}_${randomBytes(3).toString("hex")}`.toLowerCase()
  await withAdmin((client) => client.query(`create database ${name}`))
  const drop = onCleanup(() => dropDatabase(name))
  return { name, url: urlFor(name), drop }
}

/** Drops every database of this run (a safety net after the figures' own cleanup). */
export const dropRunDatabases = (run: string): Promise<number> =>
  withAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "select datname from pg_database where datname like $1",
      [`${DATABASE_PREFIX}${run}\\_%`]
    )
    for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`)
    return rows.length
  })

/** The keys schema, applied with the project's own migrations. */
export const migrate = (url: string): Promise<void> =>
  Effect.runPromise(
    Effect.scoped(
      Layer.build(
        PgMigrations.layer.pipe(Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))
      )
    )
  ).then(() => undefined)

export interface StatementCounter {
  statements: number
}

/**
 * A pg pool closed at cleanup. Idle clients of a dropped database report errors: the pool must
 * listen for them or Node ends the process.
 */
export const pool = (url: string, max: number): pg.Pool => {
  const created = new pg.Pool({ connectionString: url, max })
  created.on("error", () => undefined)
  let ended = false
  const end = created.end.bind(created)
  // Ending twice throws in pg; figures end their pools early and cleanup ends them again.
  created.end = (() => {
    if (ended) return Promise.resolve()
    ended = true
    return end()
  }) as typeof created.end
  onCleanup(() => created.end().catch(() => undefined))
  return created
}

/** A connected pg client, ended at cleanup (errors after its database is dropped are ignored). */
export const connect = async (url: string): Promise<pg.Client> => {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  await client.connect()
  let ended = false
  const end = client.end.bind(client)
  client.end = (() => {
    if (ended) return Promise.resolve()
    ended = true
    return end()
  }) as typeof client.end
  onCleanup(() => client.end().catch(() => undefined))
  return client
}

/** A pg pool whose clients count the statements they send (BEGIN/COMMIT included). */
export const countingPool = (url: string, max: number) => {
  const counter: StatementCounter = { statements: 0 }
  class CountingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this only counts
    override query(...args: Array<any>): any {
      counter.statements++
      return (super.query as (...rest: Array<unknown>) => unknown)(...args)
    }
  }
  const counted = new pg.Pool({ connectionString: url, max, Client: CountingClient })
  counted.on("error", () => undefined)
  let ended = false
  const end = counted.end.bind(counted)
  // Ending twice throws in pg; figures end their pools early and cleanup ends them again.
  counted.end = (() => {
    if (ended) return Promise.resolve()
    ended = true
    return end()
  }) as typeof counted.end
  onCleanup(() => counted.end().catch(() => undefined))
  return { counter, pool: counted }
}

// --- keys inserted in SQL ---------------------------------------------------------------------

const format = KeyFormat.defaultFormat
const PREFIX = "sk_live_"
export const CREATED_AT = new Date("2026-01-01T00:00:00Z")

/** CSPRNG bytes from a refilled buffer: generating a million tokens one `randomBytes` call each is slow. */
const pooledRandom = () => {
  let buffer = randomBytes(1 << 16)
  let offset = 0
  return (size: number): Uint8Array => {
    if (offset + size > buffer.length) {
      buffer = randomBytes(Math.max(1 << 16, size))
      offset = 0
    }
    const out = buffer.subarray(offset, offset + size)
    offset += size
    return out
  }
}
const nextBytes = pooledRandom()

/** The very SHA-256 the core hashes with, so baselines and ours share the primitive. */
export const sha256Hex = hashWithTheCore

export const newToken = (): string => KeyFormat.generate(format, PREFIX, nextBytes)

export const keyId = (label: string, index: number): string =>
  `key_${label}${index.toString(36).padStart(8, "0")}`

export interface KeySet {
  readonly teamId: string
  readonly label: string
  readonly scopes: ReadonlyArray<string> | null
  readonly tokens: Array<string>
}

export const keySet = (teamId: string, label: string, scopes: ReadonlyArray<string> | null): KeySet => ({
  teamId,
  label,
  scopes,
  tokens: []
})

/** The record the store holds for `set.tokens[index]` (what a cache entry is). */
export const recordOf = (set: KeySet, index: number): ApiKey.ApiKeyRecord => {
  const token = set.tokens[index]!
  return {
    id: keyId(set.label, index),
    teamId: set.teamId,
    name: `${set.label}-${index}`,
    hash: sha256Hex(token),
    prefix: PREFIX,
    start: KeyFormat.start(token, PREFIX),
    environment: "live",
    scopes: set.scopes,
    resources: null,
    metadata: null,
    createdAt: CREATED_AT,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    rolledFrom: null,
    replacedBy: null
  }
}

/**
 * Appends `count` new keys to `set` and inserts them, `batch` rows per statement. Answers the new
 * tokens' indices.
 */
export const insertKeys = async (
  client: pg.Pool | pg.Client,
  set: KeySet,
  count: number,
  batch = 20_000
): Promise<{ readonly from: number; readonly to: number }> => {
  const from = set.tokens.length
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start)
    const ids: Array<string> = []
    const names: Array<string> = []
    const hashes: Array<string> = []
    const starts: Array<string> = []
    for (let i = 0; i < size; i++) {
      const index = set.tokens.length
      const token = newToken()
      set.tokens.push(token)
      ids.push(keyId(set.label, index))
      names.push(`${set.label}-${index}`)
      hashes.push(sha256Hex(token))
      starts.push(KeyFormat.start(token, PREFIX))
    }
    await client.query(
      `insert into keys (id, team_id, name, environment, prefix, hash, start, scopes, created_at)
       select id, $1, name, 'live', $2, hash, start, $3::text[], $4
       from unnest($5::text[], $6::text[], $7::text[], $8::text[]) as t(id, name, hash, start)`,
      [set.teamId, PREFIX, set.scopes, CREATED_AT, ids, names, hashes, starts]
    )
  }
  return { from, to: set.tokens.length }
}

// --- server statistics --------------------------------------------------------------------------

export interface DatabaseActivity {
  /** Committed plus rolled-back transactions: each autocommit statement is one. */
  readonly transactions: number
  readonly rowsUpdated: number
  readonly rowsInserted: number
}

/**
 * The database's counters from `pg_stat_database`. Backends publish their counts when idle, at
 * most once a second, so callers wait a little after load before reading (`settle`).
 */
export const databaseActivity = async (name: string, settleMillis = 1_500): Promise<DatabaseActivity> => {
  await new Promise((resolve) => setTimeout(resolve, settleMillis))
  return withAdmin(async (client) => {
    await client.query("select pg_stat_clear_snapshot()")
    const { rows } = await client.query<{ xact: string; upd: string; ins: string }>(
      `select (xact_commit + xact_rollback)::text as xact, tup_updated::text as upd, tup_inserted::text as ins
       from pg_stat_database where datname = $1`,
      [name]
    )
    const row = rows[0]
    return {
      transactions: Number(row?.xact ?? 0),
      rowsUpdated: Number(row?.upd ?? 0),
      rowsInserted: Number(row?.ins ?? 0)
    }
  })
}

export const activityBetween = (before: DatabaseActivity, after: DatabaseActivity): DatabaseActivity => ({
  transactions: after.transactions - before.transactions,
  rowsUpdated: after.rowsUpdated - before.rowsUpdated,
  rowsInserted: after.rowsInserted - before.rowsInserted
})
