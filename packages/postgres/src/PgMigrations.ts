/**
 * The schema's migrations, run at start of the API and the worker. Safe when several processes
 * start at once: the whole run holds a transaction-scoped advisory lock, and the migrations table
 * is created inside it (the migrator's own create is a check-then-create that races).
 */
import { Migrator, SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { Errors } from "@keys/core"
import createKeys from "./migrations/0001_create_keys.js"
import notificationOutbox from "./migrations/0002_notification_outbox.js"

export const TABLE = "keys_migrations"
// Any constant shared by every keys process; chosen so it does not collide with common lock ids.
const LOCK_ID = 0x6b657973 // "keys"

export const migrations = {
  "0001_create_keys": createKeys,
  "0002_notification_outbox": notificationOutbox
}

const migrator = Migrator.make({})

/** Applies every pending migration; answers the ones this call applied. */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Errors.StoreUnavailable,
  SqlClient.SqlClient
> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(
    Effect.gen(function* () {
      yield* sql`select pg_advisory_xact_lock(${LOCK_ID})`
      yield* sql`create table if not exists ${sql(TABLE)} (
          migration_id integer primary key,
          created_at timestamptz not null default now(),
          name text not null
        )`
      return yield* migrator({ loader: Migrator.fromRecord(migrations), table: TABLE })
    })
  )
}).pipe(
  Effect.mapError(
    (error) =>
      new Errors.StoreUnavailable({ message: `Database migration failed: ${error.message}`, cause: error })
  )
)

export const layer: Layer.Layer<never, Errors.StoreUnavailable, SqlClient.SqlClient> =
  Layer.effectDiscard(run)
