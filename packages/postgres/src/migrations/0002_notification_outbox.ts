import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // One row per webhook call to make: a team's keys crossing one threshold in one scan.
  yield* sql`
    create table notification_deliveries (
      id text primary key,
      team_id text not null,
      threshold text not null,
      created_at timestamptz not null default now(),
      enqueued_at timestamptz,
      delivered_at timestamptz,
      dead_at timestamptz,
      dead_reason text
    )`
  // The relay's question: what was claimed but never handed to a queue?
  yield* sql`create index notification_deliveries_pending_idx on notification_deliveries (created_at)
    where enqueued_at is null and delivered_at is null and dead_at is null`
  yield* sql`alter table key_notifications add column delivery_id text`
  yield* sql`create index key_notifications_delivery_idx on key_notifications (delivery_id)`
})
