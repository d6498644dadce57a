/**
 * The `KeyRepository` on PostgreSQL through `@effect/sql`. Every change writes its audit event and
 * a `pg_notify` in the same transaction, so other instances hear of it exactly when it commits.
 * Driver errors become `StoreUnavailable`; nothing here dies on I/O.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import type { ApiKey, AuditEvent, KeyRepository as KeyRepositoryModule } from "@keys/core"
import { Errors, Expiry, KeyRepository } from "@keys/core"
import { Duration, Effect, Layer, Option } from "effect"
import { CHANNEL } from "./PgInvalidations.js"

type ApiKeyRecord = ApiKey.ApiKeyRecord
type Repository = KeyRepository.KeyRepository["Type"]

export interface Options {
  /** Each call fails with `StoreUnavailable` past this (default 5 s): no request waits forever. */
  readonly queryTimeout?: Duration.DurationInput
}

// Camel-case aliases keep the mapping independent of the client's name transforms.
export const KEY_COLUMNS = `id, team_id as "teamId", name, environment, prefix, hash, start, scopes, resources, metadata,
  created_at as "createdAt", expires_at as "expiresAt", revoked_at as "revokedAt", last_used_at as "lastUsedAt",
  rolled_from as "rolledFrom", replaced_by as "replacedBy"`

const AUDIT_COLUMNS = `id, team_id as "teamId", key_id as "keyId", action, actor_key_id as "actorKeyId", at, changes`

/** Rows come back in the record's own shape: the column list aliases every column. */
export type KeyRow = ApiKeyRecord

/** A clean record from a row that may carry extra columns (a claim's threshold). */
export const toRecord = (row: KeyRow): ApiKeyRecord => ({
  id: row.id,
  teamId: row.teamId,
  name: row.name,
  hash: row.hash,
  prefix: row.prefix,
  start: row.start,
  environment: row.environment,
  scopes: row.scopes,
  resources: row.resources,
  metadata: row.metadata,
  createdAt: row.createdAt,
  expiresAt: row.expiresAt,
  revokedAt: row.revokedAt,
  lastUsedAt: row.lastUsedAt,
  rolledFrom: row.rolledFrom,
  replacedBy: row.replacedBy
})

/** jsonb parameters go as text: pg would turn a top-level array into a Postgres array literal. */
const json = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value)

const pageOf = <A>(rows: ReadonlyArray<A>, limit: number): KeyRepositoryModule.Page<A> => ({
  items: rows.slice(0, limit),
  hasMore: rows.length > limit
})

export const make = (options: Options = {}): Effect.Effect<Repository, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const timeout = Duration.decode(options.queryTimeout ?? Duration.seconds(5))
    const columns = sql.literal(KEY_COLUMNS)
    const auditColumns = sql.literal(AUDIT_COLUMNS)

    const unavailable = (error: SqlError.SqlError) =>
      new Errors.StoreUnavailable({ message: "The key store is unavailable.", cause: error })

    /** Timeout and error mapping for every call. */
    const run = <A>(effect: Effect.Effect<A, SqlError.SqlError>): Effect.Effect<A, Errors.StoreUnavailable> =>
      effect.pipe(
        Effect.mapError(unavailable),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new Errors.StoreUnavailable({ message: "The key store did not answer in time." })
        })
      )

    const notify = (hash: string) => sql`select pg_notify(${CHANNEL}, ${hash})`

    const insertAudit = (event: AuditEvent.AuditEvent) => sql`
      insert into audit_events (id, team_id, key_id, action, actor_key_id, at, changes)
      values (${event.id}, ${event.teamId}, ${event.keyId}, ${event.action}, ${event.actorKeyId}, ${event.at},
              ${json(event.changes)}::jsonb)`

    const insertKey = (record: ApiKeyRecord) => sql`
      insert into keys (id, team_id, name, environment, prefix, hash, start, scopes, resources, metadata,
                        created_at, expires_at, revoked_at, last_used_at, rolled_from, replaced_by)
      values (${record.id}, ${record.teamId}, ${record.name}, ${record.environment}, ${record.prefix}, ${record.hash},
              ${record.start}, ${record.scopes as Array<string> | null}::text[], ${record.resources as Array<string> | null}::text[],
              ${json(record.metadata)}::jsonb, ${record.createdAt}, ${record.expiresAt}, ${record.revokedAt},
              ${record.lastUsedAt}, ${record.rolledFrom}, ${record.replacedBy})`

    const first = (rows: ReadonlyArray<KeyRow>): Option.Option<ApiKeyRecord> =>
      rows.length === 0 ? Option.none() : Option.some(toRecord(rows[0]!))

    const findInTeam = (teamId: string, id: string, lock: boolean) =>
      sql<KeyRow>`select ${columns} from keys where id = ${id} and team_id = ${teamId} ${sql.literal(lock ? "for update" : "")}`

    const insert: Repository["insert"] = (record, audit) =>
      run(
        sql.withTransaction(
          Effect.all([insertKey(record), insertAudit(audit), notify(record.hash)], { discard: true })
        )
      )

    const findByHash: Repository["findByHash"] = (hash) =>
      run(sql<KeyRow>`select ${columns} from keys where hash = ${hash}`.pipe(Effect.map(first)))

    const findById: Repository["findById"] = (teamId, id) =>
      run(findInTeam(teamId, id, false).pipe(Effect.map(first)))

    const list: Repository["list"] = (query) => {
      const conditions = [sql`team_id = ${query.teamId}`]
      switch (query.status) {
        case "active":
          conditions.push(sql`revoked_at is null and (expires_at is null or expires_at > ${query.now})`)
          break
        case "expired":
          conditions.push(sql`revoked_at is null and expires_at <= ${query.now}`)
          break
        case "revoked":
          conditions.push(sql`revoked_at is not null`)
          break
      }
      if (query.environment !== undefined) conditions.push(sql`environment = ${query.environment}`)
      if (query.expiringBefore !== undefined) {
        conditions.push(
          sql`revoked_at is null and expires_at > ${query.now} and expires_at <= ${query.expiringBefore}`
        )
      }
      if (query.after !== undefined)
        conditions.push(sql`(created_at, id) < (${query.after.at}, ${query.after.id})`)
      return run(
        sql<KeyRow>`select ${columns} from keys where ${sql.and(conditions)}
                    order by created_at desc, id desc limit ${query.limit + 1}`.pipe(
          Effect.map((rows) => pageOf(rows.map(toRecord), query.limit))
        )
      )
    }

    const update: Repository["update"] = (teamId, id, patch, audit) => {
      const sets: Array<ReturnType<typeof sql.literal>> = []
      if (patch.name !== undefined) sets.push(sql`name = ${patch.name}`)
      if (patch.scopes !== undefined) sets.push(sql`scopes = ${patch.scopes as Array<string> | null}::text[]`)
      if (patch.resources !== undefined)
        sets.push(sql`resources = ${patch.resources as Array<string> | null}::text[]`)
      if (patch.expiresAt !== undefined) sets.push(sql`expires_at = ${patch.expiresAt}`)
      if (patch.metadata !== undefined) sets.push(sql`metadata = ${json(patch.metadata)}::jsonb`)
      if (sets.length === 0) return findById(teamId, id)
      return run(
        sql.withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<KeyRow>`update keys set ${sql.csv(sets)}
              where id = ${id} and team_id = ${teamId} returning ${columns}`
            const updated = first(rows)
            if (Option.isNone(updated)) return updated
            yield* insertAudit(audit)
            yield* notify(updated.value.hash)
            return updated
          })
        )
      )
    }

    const revoke: Repository["revoke"] = (teamId, id, at, audit) =>
      run(
        sql.withTransaction(
          Effect.gen(function* () {
            const revoked = first(
              yield* sql<KeyRow>`update keys set revoked_at = ${at}
                where id = ${id} and team_id = ${teamId} and revoked_at is null returning ${columns}`
            )
            if (Option.isSome(revoked)) {
              yield* insertAudit(audit)
              yield* notify(revoked.value.hash)
              return Option.some({ key: revoked.value, changed: true })
            }
            const existing = first(yield* findInTeam(teamId, id, false))
            return Option.map(existing, (key) => ({ key, changed: false }))
          })
        )
      )

    const roll: Repository["roll"] = (request) =>
      run(
        sql.withTransaction(
          Effect.gen(function* () {
            const current = first(yield* findInTeam(request.teamId, request.id, true))
            if (Option.isNone(current)) return Option.none()
            const old = current.value
            const active =
              old.revokedAt === null &&
              (old.expiresAt === null || old.expiresAt.getTime() > request.now.getTime()) &&
              old.replacedBy === null
            if (!active) return Option.some({ _tag: "NotRollable" as const, key: old })
            yield* insertKey(request.replacement)
            const endsNow = request.previousEndsAt.getTime() <= request.now.getTime()
            // least() ignores nulls: a key without expiry gets the grace end, a shorter expiry stays.
            const ending = endsNow
              ? sql`revoked_at = ${request.now}`
              : sql`expires_at = least(expires_at, ${request.previousEndsAt})`
            const previous = first(
              yield* sql<KeyRow>`update keys set ${ending}, replaced_by = ${request.replacement.id}
                where id = ${old.id} returning ${columns}`
            )
            yield* insertAudit(request.audit)
            yield* notify(old.hash)
            yield* notify(request.replacement.hash)
            return Option.some({
              _tag: "Rolled" as const,
              previous: Option.getOrThrow(previous),
              replacement: request.replacement
            })
          })
        )
      )

    const forgetUsageBatches: Repository["forgetUsageBatches"] = (retention) =>
      run(
        sql<{ readonly forgotten: number }>`
          with gone as (
            delete from usage_batches
            where applied_at < now() - make_interval(secs => ${Duration.toMillis(retention) / 1000})
            returning 1
          )
          select count(*)::int as forgotten from gone`.pipe(Effect.map((rows) => rows[0]?.forgotten ?? 0))
      )

    const applyUsageBatches: Repository["applyUsageBatches"] = (batches) => {
      const rows = batches.flatMap((batch) => batch.entries.map((entry) => ({ batchId: batch.id, entry })))
      if (rows.length === 0) return Effect.void
      const batchIds = rows.map((row) => row.batchId)
      const ids = rows.map((row) => row.entry.keyId)
      const times = rows.map((row) => row.entry.lastUsedAt)
      const counts = rows.map((row) => row.entry.count)
      // One statement for every batch: rows are locked in id order, so concurrent writers cannot
      // deadlock; only batches recorded for the first time add counts; greatest() never moves last
      // use backwards.
      return run(
        sql`
          with input as (
            select * from unnest(${batchIds}::text[], ${ids}::text[], ${times}::timestamptz[], ${counts}::int[])
              as e(batch_id, key_id, last_used_at, count)
          ), fresh as (
            insert into usage_batches (id) select distinct batch_id from input
            on conflict do nothing returning id
          ), latest as (
            select key_id, max(last_used_at) as last_used_at from input group by key_id
          ), counts as (
            select key_id, (last_used_at at time zone 'UTC')::date as day, sum(count)::bigint as count
            from input where batch_id in (select id from fresh)
            group by key_id, day
          ), locked as (
            select k.id from keys k join latest l on l.key_id = k.id order by k.id for update of k
          ), touched as (
            update keys k set last_used_at = greatest(k.last_used_at, l.last_used_at)
            from latest l
            where k.id = l.key_id and k.id in (select id from locked)
              and (k.last_used_at is null or k.last_used_at < l.last_used_at)
            returning k.id
          ), counted as (
            insert into key_usage_daily (key_id, day, count)
            select c.key_id, c.day, c.count from counts c
            where c.key_id in (select id from locked) and c.count > 0
            order by c.key_id, c.day
            on conflict (key_id, day) do update set count = key_usage_daily.count + excluded.count
            returning key_id
          )
          select (select count(*) from touched)::int as touched, (select count(*) from counted)::int as counted`.pipe(
          Effect.asVoid
        )
      )
    }

    const claimExpiryNotifications: Repository["claimExpiryNotifications"] = (windows, { scanId, limit }) => {
      if (windows.length === 0) return Effect.succeed([])
      const thresholds = windows.map((window) => window.threshold)
      const after = windows.map((window) => window.expiresAfter)
      const before = windows.map((window) => window.expiresAtOrBefore)
      // Claim and record deliveries in one transaction: a claimed pair always has its delivery.
      return run(
        sql.withTransaction(
          Effect.gen(function* () {
            const rows = yield* sql<KeyRow & { readonly threshold: string }>`
              with due as (
                select k.id, w.threshold
                from unnest(${thresholds}::text[], ${after}::timestamptz[], ${before}::timestamptz[])
                  as w(threshold, expires_after, expires_before)
                join keys k on k.expires_at > w.expires_after and k.expires_at <= w.expires_before
                where k.revoked_at is null and k.expires_at is not null
                  and not exists (select 1 from key_notifications n where n.key_id = k.id and n.threshold = w.threshold)
                limit ${limit}
              ), claimed as (
                insert into key_notifications (key_id, threshold)
                select id, threshold from due
                on conflict do nothing
                returning key_id, threshold
              )
              select ${columns}, c.threshold from claimed c join keys on keys.id = c.key_id`
            const claims = Expiry.assignDeliveries(
              scanId,
              rows.map((row) => ({ key: toRecord(row), threshold: row.threshold }))
            )
            if (claims.length === 0) return claims
            const groups = new Map(claims.map((claim) => [claim.deliveryId, claim]))
            const deliveries = [...groups.values()]
            yield* sql`
              insert into notification_deliveries (id, team_id, threshold)
              select * from unnest(${deliveries.map((claim) => claim.deliveryId)}::text[],
                                   ${deliveries.map((claim) => claim.key.teamId)}::text[],
                                   ${deliveries.map((claim) => claim.threshold)}::text[])`
            yield* sql`
              update key_notifications n set delivery_id = v.delivery_id
              from unnest(${claims.map((claim) => claim.key.id)}::text[], ${claims.map((claim) => claim.threshold)}::text[],
                          ${claims.map((claim) => claim.deliveryId)}::text[]) as v(key_id, threshold, delivery_id)
              where n.key_id = v.key_id and n.threshold = v.threshold`
            return claims
          })
        )
      )
    }

    const dailyUsage: Repository["dailyUsage"] = (teamId, keyId, days) =>
      run(
        sql<{ readonly day: string; readonly count: number }>`
          select to_char(d.day, 'YYYY-MM-DD') as day, d.count::int as count
          from key_usage_daily d join keys k on k.id = d.key_id
          where d.key_id = ${keyId} and k.team_id = ${teamId}
          order by d.day desc limit ${days}`.pipe(
          Effect.map((rows) => rows.map((row) => ({ day: row.day, count: row.count })))
        )
      )

    const listAudit: Repository["listAudit"] = (query) => {
      const conditions = [sql`team_id = ${query.teamId}`]
      if (query.keyId !== undefined) conditions.push(sql`key_id = ${query.keyId}`)
      if (query.after !== undefined) conditions.push(sql`(at, id) < (${query.after.at}, ${query.after.id})`)
      return run(
        sql<AuditEvent.AuditEvent>`select ${auditColumns} from audit_events where ${sql.and(conditions)}
          order by at desc, id desc limit ${query.limit + 1}`.pipe(
          Effect.map((rows) => pageOf(rows, query.limit))
        )
      )
    }

    const isEmpty: Repository["isEmpty"] = run(
      sql<{ readonly empty: boolean }>`select not exists (select 1 from keys) as empty`.pipe(
        Effect.map((rows) => rows[0]?.empty ?? true)
      )
    )

    return KeyRepository.KeyRepository.of({
      insert,
      findByHash,
      findById,
      list,
      update,
      revoke,
      roll,
      applyUsageBatches,
      forgetUsageBatches,
      claimExpiryNotifications,
      dailyUsage,
      listAudit,
      isEmpty
    })
  })

export const layer = (
  options: Options = {}
): Layer.Layer<KeyRepository.KeyRepository, never, SqlClient.SqlClient> =>
  Layer.effect(KeyRepository.KeyRepository, make(options))
