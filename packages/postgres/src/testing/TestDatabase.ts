/**
 * Test databases on a real PostgreSQL (default 127.0.0.1:5432, trust auth; override with
 * TEST_ADMIN_DATABASE_URL): each scope gets a database of its own, dropped when the scope closes, so
 * test runs never collide. Also a pg pool that counts the statements it sends.
 */
import { randomBytes } from "node:crypto"
import { Effect, Redacted, type Scope } from "effect"
import pg from "pg"

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** Runs `statement` on the admin database (create or drop databases). */
export const admin = async (statement: string): Promise<void> => {
  const client = new pg.Client({ connectionString: ADMIN_URL })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}

export const urlFor = (database: string): string => {
  const url = new URL(ADMIN_URL)
  url.pathname = `/${database}`
  return url.toString()
}

/** A new empty database for this scope; its URL as a `Redacted` for layers. */
export const freshDatabase: Effect.Effect<
  { readonly name: string; readonly url: Redacted.Redacted<string> },
  never,
  Scope.Scope
> = Effect.acquireRelease(
  Effect.promise(async () => {
    const name = `keys_test_${process.pid}_${randomBytes(4).toString("hex")}`
    await admin(`create database ${name}`)
    return { name, url: Redacted.make(urlFor(name)) }
  }),
  ({ name }) =>
    Effect.promise(() => admin(`drop database if exists ${name} with (force)`).catch(() => undefined))
)

/** A pg pool whose clients count the statements they send (for "statements per flush" checks). */
export const countingPool = (url: string, max = 2) => {
  const counter = { statements: 0, texts: [] as Array<string> }
  class CountingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query has many overloads; this only counts
    override query(...args: Array<any>): any {
      counter.statements++
      const first = args[0]
      counter.texts.push(typeof first === "string" ? first : (first?.text ?? ""))
      return (super.query as (...rest: Array<unknown>) => unknown)(...args)
    }
  }
  const pool = new pg.Pool({ connectionString: url, max, Client: CountingClient })
  return { counter, pool }
}
