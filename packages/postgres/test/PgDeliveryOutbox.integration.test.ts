import { PgClient } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { DeliveryOutbox, Expiry, KeyRepository } from "@keys/core"
import { makeRecord } from "@keys/core/testing/suite"
import { Effect, Layer, Option } from "effect"
import * as PgDeliveryOutbox from "../src/PgDeliveryOutbox.js"
import * as PgKeyRepository from "../src/PgKeyRepository.js"
import * as PgMigrations from "../src/PgMigrations.js"
import { freshDatabase } from "./helpers.js"

const store = Layer.unwrapScoped(
  Effect.map(freshDatabase, ({ url }) => {
    const client = PgClient.layer({ url, maxConnections: 4 })
    return Layer.mergeAll(PgKeyRepository.layer(), PgDeliveryOutbox.layer).pipe(
      Layer.provideMerge(Layer.merge(client, PgMigrations.layer.pipe(Layer.provide(client))))
    )
  })
)

const HOUR = 3_600_000
const now = new Date("2031-03-01T00:00:00Z")

layer(store, { timeout: 60_000 })("PgDeliveryOutbox", (it) => {
  it.effect(
    "records one delivery per team and threshold with the claim, and walks it to delivered or dead",
    () =>
      Effect.gen(function* () {
        const repository = yield* KeyRepository.KeyRepository
        const outbox = yield* DeliveryOutbox.DeliveryOutbox
        const records = [
          makeRecord({ teamId: "team_a", expiresAt: new Date(now.getTime() + 2 * HOUR) }),
          makeRecord({ teamId: "team_a", expiresAt: new Date(now.getTime() + 3 * HOUR) }),
          makeRecord({ teamId: "team_b", expiresAt: new Date(now.getTime() + 2 * HOUR) })
        ]
        for (const record of records) {
          yield* repository.insert(record, {
            id: `evt_${record.id}`,
            teamId: record.teamId,
            keyId: record.id,
            action: "key.created",
            actorKeyId: null,
            at: record.createdAt,
            changes: {}
          })
        }
        const claims = yield* repository.claimExpiryNotifications(
          Expiry.windows(now, [7 * 24 * HOUR, 24 * HOUR, 0]),
          {
            scanId: "s1",
            limit: 100
          }
        )
        expect(claims).toHaveLength(3)
        const pending = yield* outbox.pending(10)
        expect(pending.map((delivery) => delivery.teamId).sort()).toEqual(["team_a", "team_b"])
        const teamA = pending.find((delivery) => delivery.teamId === "team_a")!
        const loaded = Option.getOrThrow(yield* outbox.load(teamA.id))
        expect(loaded.keys.map((key) => key.id).sort()).toEqual([records[0]!.id, records[1]!.id].sort())
        expect(loaded).toMatchObject({ threshold: "1d", deliveredAt: null, deadAt: null })
        yield* outbox.markEnqueued([teamA.id], now)
        expect((yield* outbox.pending(10)).map((delivery) => delivery.teamId)).toEqual(["team_b"])
        yield* outbox.markDelivered(teamA.id, now)
        expect(Option.getOrThrow(yield* outbox.load(teamA.id)).deliveredAt).toEqual(now)
        const teamB = pending.find((delivery) => delivery.teamId === "team_b")!
        yield* outbox.markDead(teamB.id, now, "webhook answered 500")
        expect(Option.getOrThrow(yield* outbox.load(teamB.id)).deadAt).toEqual(now)
        expect(yield* outbox.pending(10)).toEqual([])
        expect(Option.isNone(yield* outbox.load("dlv_unknown"))).toBe(true)
      })
  )
})
