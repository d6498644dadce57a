/**
 * The core's `DeliveryOutbox` on PostgreSQL: deliveries recorded by the claiming transaction
 * (`PgKeyRepository.claimExpiryNotifications`), relayed to a queue, then delivered or dead.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { DeliveryOutbox, Errors } from "@keys/core"
import { Duration, Effect, Layer, Option } from "effect"
import { KEY_COLUMNS, type KeyRow, toRecord } from "./PgKeyRepository.js"

type Outbox = DeliveryOutbox.DeliveryOutbox["Type"]

interface DeliveryRow {
  readonly id: string
  readonly teamId: string
  readonly threshold: string
  readonly createdAt: Date
  readonly deliveredAt: Date | null
  readonly deadAt: Date | null
}

export const make: Effect.Effect<Outbox, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const keyColumns = sql.literal(KEY_COLUMNS.replace(/(^|,\s*)(\w+)/g, "$1keys.$2"))
  const run = <A>(effect: Effect.Effect<A, SqlError.SqlError>) =>
    effect.pipe(
      Effect.mapError(
        (cause) => new Errors.StoreUnavailable({ message: "The key store is unavailable.", cause })
      ),
      Effect.timeoutFail({
        duration: Duration.seconds(10),
        onTimeout: () => new Errors.StoreUnavailable({ message: "The key store did not answer in time." })
      })
    )

  const pending: Outbox["pending"] = (limit) =>
    run(
      sql<{ readonly id: string; readonly teamId: string; readonly threshold: string }>`
        select id, team_id as "teamId", threshold from notification_deliveries
        where enqueued_at is null and delivered_at is null and dead_at is null
        order by created_at, id limit ${limit}`
    )

  const markEnqueued: Outbox["markEnqueued"] = (ids, at) =>
    ids.length === 0
      ? Effect.void
      : run(
          sql`update notification_deliveries set enqueued_at = ${at} where id = any(${ids as Array<string>}::text[])`.pipe(
            Effect.asVoid
          )
        )

  const load: Outbox["load"] = (id) =>
    run(
      Effect.gen(function* () {
        const [delivery] = yield* sql<DeliveryRow>`
          select id, team_id as "teamId", threshold, created_at as "createdAt", delivered_at as "deliveredAt",
                 dead_at as "deadAt"
          from notification_deliveries where id = ${id}`
        if (delivery === undefined) return Option.none()
        const keys = yield* sql<KeyRow>`
          select ${keyColumns} from key_notifications n join keys on keys.id = n.key_id
          where n.delivery_id = ${id} order by keys.id`
        return Option.some({ ...delivery, keys: keys.map(toRecord) })
      })
    )

  const markDelivered: Outbox["markDelivered"] = (id, at) =>
    run(
      sql`update notification_deliveries set delivered_at = ${at} where id = ${id} and delivered_at is null`.pipe(
        Effect.asVoid
      )
    )

  const markDead: Outbox["markDead"] = (id, at, reason) =>
    run(
      sql`update notification_deliveries set dead_at = ${at}, dead_reason = ${reason.slice(0, 1000)}
          where id = ${id} and dead_at is null and delivered_at is null`.pipe(Effect.asVoid)
    )

  return DeliveryOutbox.DeliveryOutbox.of({ pending, markEnqueued, load, markDelivered, markDead })
})

export const layer: Layer.Layer<DeliveryOutbox.DeliveryOutbox, never, SqlClient.SqlClient> = Layer.effect(
  DeliveryOutbox.DeliveryOutbox,
  make
)
