import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    create table keys (
      id text primary key,
      team_id text not null,
      name text not null,
      environment text not null check (environment in ('live', 'test')),
      prefix text not null,
      -- lowercase hex SHA-256 of the whole token; the plaintext is never stored
      hash text not null unique,
      start text not null,
      scopes text[],
      resources text[],
      metadata jsonb,
      created_at timestamptz not null,
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz,
      rolled_from text,
      replaced_by text
    )`
  // Listing a team newest first, with a keyset cursor on (created_at, id).
  yield* sql`create index keys_team_created_idx on keys (team_id, created_at desc, id desc)`
  // The expiry scan only ever looks at live keys that have an expiry.
  yield* sql`create index keys_expiry_scan_idx on keys (expires_at) where revoked_at is null and expires_at is not null`

  yield* sql`
    create table key_usage_daily (
      key_id text not null references keys (id) on delete cascade,
      day date not null,
      count bigint not null,
      primary key (key_id, day)
    )`
  // Batch ids already applied: a replayed batch moves no count twice.
  yield* sql`
    create table usage_batches (
      id text primary key,
      applied_at timestamptz not null default now()
    )`
  yield* sql`create index usage_batches_applied_idx on usage_batches (applied_at)`

  // One row per (key, threshold) ever claimed: the unique key makes each notification exactly once.
  yield* sql`
    create table key_notifications (
      key_id text not null references keys (id) on delete cascade,
      threshold text not null,
      claimed_at timestamptz not null default now(),
      delivered_at timestamptz,
      primary key (key_id, threshold)
    )`

  yield* sql`
    create table audit_events (
      id text primary key,
      team_id text not null,
      key_id text not null,
      action text not null,
      actor_key_id text,
      at timestamptz not null,
      changes jsonb not null
    )`
  yield* sql`create index audit_events_team_idx on audit_events (team_id, at desc, id desc)`
  yield* sql`create index audit_events_key_idx on audit_events (key_id, at desc, id desc)`
})
