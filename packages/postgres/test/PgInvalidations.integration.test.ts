import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, layer } from "@effect/vitest"
import { Errors, Invalidations } from "@keys/core"
import { Context, Effect, Exit, Fiber, Layer, Queue, Redacted, Schedule, Scope, Stream } from "effect"
import * as PgInvalidations from "../src/PgInvalidations.js"
import * as net from "node:net"
import pg from "pg"
import { ADMIN_URL, freshDatabase } from "./helpers.js"

class TestDatabase extends Context.Tag("@keys/postgres/test/TestDatabase")<
  TestDatabase,
  { readonly name: string; readonly url: Redacted.Redacted<string> }
>() {}

const TestLayer = Layer.unwrapScoped(
  Effect.map(freshDatabase, ({ name, url }) =>
    PgInvalidations.layer({ url }).pipe(
      Layer.provideMerge(PgClient.layer({ url, maxConnections: 2 })),
      Layer.merge(Layer.succeed(TestDatabase, { name, url }))
    )
  )
)

const WAIT = "5 seconds"

const hashOf = (letter: string) => letter.repeat(64)

/** Drains a subscription into a queue for the rest of the scope, so events can be taken one by one. */
const collect = (events: Stream.Stream<Invalidations.InvalidationEvent>) =>
  Effect.gen(function* () {
    const received = yield* Queue.unbounded<Invalidations.InvalidationEvent>()
    yield* Effect.forkScoped(Stream.runForEach(events, (event) => Queue.offer(received, event)))
    return received
  })

const next = (received: Queue.Dequeue<Invalidations.InvalidationEvent>) =>
  Queue.take(received).pipe(
    Effect.timeoutFail({ duration: WAIT, onTimeout: () => new Error(`no invalidation event within ${WAIT}`) })
  )

const listenerBackends = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => sql<{ readonly count: number }>`
    select count(*)::int as count from pg_stat_activity
    where application_name = ${PgInvalidations.APPLICATION_NAME} and datname = current_database()`
).pipe(Effect.map((rows) => rows[0]!.count))

/** A backend exits shortly after its client says goodbye: poll, bounded, until none is left. */
const awaitNoListenerBackend = listenerBackends.pipe(
  Effect.filterOrFail(
    (count) => count === 0,
    (count) => new Error(`${count} listener backend(s) still connected`)
  ),
  Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 })
)

/** PostgreSQL refuses to disallow connections to the database one is connected to: ask from outside. */
const allowConnections = (database: string, allow: boolean) =>
  Effect.promise(async () => {
    const admin = new pg.Client({ connectionString: ADMIN_URL })
    await admin.connect()
    try {
      await admin.query(`alter database ${pg.escapeIdentifier(database)} with allow_connections ${allow}`)
    } finally {
      await admin.end()
    }
  })

/** Runs an effect on a pool connection of its own, outside the surrounding transaction. */
const outsideTransaction = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.mapInputContext(effect, Context.omit(SqlClient.TransactionConnection))

/**
 * A TCP proxy to the test database whose open connections can be frozen: bytes stop flowing both
 * ways while the sockets stay open, as in a partition without a reset. New connections still pass.
 */
const freezableProxy = (target: Redacted.Redacted<string>) =>
  Effect.acquireRelease(
    Effect.async<{
      readonly url: Redacted.Redacted<string>
      readonly freeze: () => void
      readonly server: net.Server
      readonly sockets: Set<net.Socket>
    }>((resume) => {
      const upstream = new URL(Redacted.value(target))
      const sockets = new Set<net.Socket>()
      const frozen: Array<() => void> = []
      const server = net.createServer((client) => {
        const server = net.connect(Number(upstream.port || 5432), upstream.hostname)
        for (const socket of [client, server]) {
          sockets.add(socket)
          socket.on("error", () => undefined)
        }
        client.pipe(server)
        server.pipe(client)
        frozen.push(() => {
          client.unpipe(server)
          server.unpipe(client)
          client.pause()
          server.pause()
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo
        const url = new URL(Redacted.value(target))
        url.hostname = "127.0.0.1"
        url.port = String(port)
        resume(
          Effect.succeed({
            url: Redacted.make(url.toString()),
            freeze: () => {
              for (const stop of frozen.splice(0)) stop()
            },
            server,
            sockets
          })
        )
      })
    }),
    ({ server, sockets }) =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        server.close()
      })
  )

describe("PgInvalidations", () => {
  layer(TestLayer, { timeout: 30_000, excludeTestServices: true })((it) => {
    it.scoped("delivers a published hash to every subscriber, each on its own connection", () =>
      Effect.gen(function* () {
        const invalidations = yield* Invalidations.Invalidations
        const first = yield* collect(yield* invalidations.subscribe)
        const second = yield* collect(yield* invalidations.subscribe)
        expect(yield* listenerBackends).toBe(2)

        yield* invalidations.publish(hashOf("a"))

        expect(yield* next(first)).toEqual({ _tag: "KeyChanged", hash: hashOf("a") })
        expect(yield* next(second)).toEqual({ _tag: "KeyChanged", hash: hashOf("a") })
      })
    )

    it.scoped("delivers a publish made in a transaction only once it commits, never if it rolls back", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const invalidations = yield* Invalidations.Invalidations
        const received = yield* collect(yield* invalidations.subscribe)

        // Notifications arrive in commit order: once a marker sent afterwards has arrived, a
        // rolled-back or uncommitted publish would already have arrived if it was going to.
        const rolledBack = yield* sql
          .withTransaction(
            Effect.zipRight(invalidations.publish(hashOf("r")), Effect.fail("roll back" as const))
          )
          .pipe(Effect.flip)
        expect(rolledBack).toBe("roll back")
        yield* invalidations.publish(hashOf("m"))
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("m") })

        yield* sql.withTransaction(
          Effect.gen(function* () {
            yield* invalidations.publish(hashOf("c"))
            yield* outsideTransaction(invalidations.publish(hashOf("n")))
            expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("n") })
            expect(yield* Queue.size(received)).toBe(0)
          })
        )
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("c") })
      })
    )

    it.scoped("fails a publish the store refuses with StoreUnavailable", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const invalidations = yield* Invalidations.Invalidations
        const error = yield* sql
          .withTransaction(
            Effect.gen(function* () {
              // An aborted transaction refuses every further statement, pg_notify included.
              yield* Effect.ignore(sql`select 1 / 0`)
              return yield* invalidations.publish(hashOf("x"))
            })
          )
          .pipe(Effect.flip)
        expect(error).toBeInstanceOf(Errors.StoreUnavailable)
      })
    )

    it.scoped("emits Lost when the listener's backend is killed, and Reset once listening again", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const invalidations = yield* Invalidations.Invalidations
        const received = yield* collect(yield* invalidations.subscribe)

        const killed = yield* sql<{ readonly killed: boolean }>`
          select pg_terminate_backend(pid) as killed from pg_stat_activity
          where application_name = 'keys-invalidations' and datname = current_database()`
        expect(killed).toEqual([{ killed: true }])

        expect(yield* next(received)).toEqual({ _tag: "Lost" })
        expect(yield* next(received)).toEqual({ _tag: "Reset" })
        yield* invalidations.publish(hashOf("b"))
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("b") })
      })
    )

    it.scoped("keeps retrying while the database refuses connections, then resumes with a Reset", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const invalidations = yield* Invalidations.Invalidations
        const received = yield* collect(yield* invalidations.subscribe)
        const { name } = yield* TestDatabase
        yield* Effect.acquireRelease(allowConnections(name, false), () => allowConnections(name, true))
        yield* sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'keys-invalidations' and datname = current_database()`
        expect(yield* next(received)).toEqual({ _tag: "Lost" })

        // Bounded: long enough for the immediate attempt and a backed-off one to be refused.
        yield* Effect.sleep("400 millis")
        expect(yield* Queue.size(received)).toBe(0)
        yield* allowConnections(name, true)

        expect(yield* next(received)).toEqual({ _tag: "Reset" })
        yield* invalidations.publish(hashOf("d"))
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("d") })
      })
    )

    it.scoped("closing the scope ends the stream and leaves no listener backend", () =>
      Effect.gen(function* () {
        const invalidations = yield* Invalidations.Invalidations
        const scope = yield* Scope.make()
        const events = yield* Scope.extend(invalidations.subscribe, scope)
        yield* Scope.extend(invalidations.subscribe, scope)
        expect(yield* listenerBackends).toBe(2)
        const drained = yield* Effect.fork(Stream.runDrain(events))

        yield* Scope.close(scope, Exit.void)

        yield* Fiber.join(drained).pipe(
          Effect.timeoutFail({ duration: WAIT, onTimeout: () => "stream still open" })
        )
        yield* awaitNoListenerBackend
      })
    )

    it.scoped("closing the scope while reconnecting leaves no listener backend", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const invalidations = yield* Invalidations.Invalidations
        const scope = yield* Scope.make()
        const received = yield* Effect.flatMap(invalidations.subscribe, collect).pipe(Scope.extend(scope))
        yield* sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'keys-invalidations' and datname = current_database()`
        expect(yield* next(received)).toEqual({ _tag: "Lost" })

        yield* Scope.close(scope, Exit.void).pipe(
          Effect.timeoutFail({ duration: WAIT, onTimeout: () => "scope close hung" })
        )
        yield* awaitNoListenerBackend
      })
    )

    it.scoped("a connection that goes silent (no reset) is noticed by the heartbeat: Lost, then Reset", () =>
      Effect.gen(function* () {
        const { url } = yield* TestDatabase
        const proxy = yield* freezableProxy(url)
        const invalidations = yield* PgInvalidations.make({
          url: proxy.url,
          heartbeat: { every: "100 millis", timeout: "300 millis" }
        })
        const received = yield* collect(yield* invalidations.subscribe)
        yield* invalidations.publish(hashOf("e"))
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("e") })

        proxy.freeze()
        // Nothing closes the socket: only the unanswered heartbeat can tell.
        expect(yield* next(received)).toEqual({ _tag: "Lost" })
        // A new connection through the proxy flows again.
        expect(yield* next(received)).toEqual({ _tag: "Reset" })
        yield* invalidations.publish(hashOf("f"))
        expect(yield* next(received)).toEqual({ _tag: "KeyChanged", hash: hashOf("f") })
      })
    )

    it.scoped("subscribing to an unreachable database returns at once with Lost, and never fails", () =>
      Effect.gen(function* () {
        const { url } = yield* TestDatabase
        // Port 1 refuses connections: nothing listens there.
        const unreachable = new URL(Redacted.value(url))
        unreachable.port = "1"
        const invalidations = yield* PgInvalidations.make({ url: Redacted.make(unreachable.toString()) })
        const received = yield* collect(yield* invalidations.subscribe)
        expect(yield* next(received)).toEqual({ _tag: "Lost" })
      })
    )
  })
})
