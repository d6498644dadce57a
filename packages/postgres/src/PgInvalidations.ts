/**
 * The `Invalidations` port on PostgreSQL LISTEN/NOTIFY. Publishing is a `pg_notify` on the caller's
 * SQL connection, so inside `sql.withTransaction` it is delivered only if (and when) the change commits.
 *
 * Each subscription listens on a dedicated `pg` client rather than `PgClient.listen`: the latter never
 * notices when its backend is killed and hangs forever, whereas a raw client reports the loss within
 * milliseconds. A lost connection means notifications may be missed, so the stream emits `Lost` at
 * once (the consumer stops trusting its cache), reconnects with a capped backoff, and emits `Reset`
 * once listening again (the consumer clears its cache), because anything sent in the gap is gone.
 */
import { SqlClient } from "@effect/sql"
import { Errors, Invalidations } from "@keys/core"
import {
  Config,
  type ConfigError,
  Data,
  Deferred,
  Duration,
  Effect,
  Exit,
  Layer,
  Queue,
  Redacted,
  Schedule,
  Stream
} from "effect"
import pg from "pg"

export const CHANNEL = "keys_changed"

/** Names the listener backends in `pg_stat_activity`, so operators (and tests) can find them. */
export const APPLICATION_NAME = "keys-invalidations"

export interface Heartbeat {
  readonly every: Duration.DurationInput
  readonly timeout: Duration.DurationInput
}

export interface PgInvalidationsOptions {
  readonly url: Redacted.Redacted<string>
  /**
   * How often the listener proves its connection alive with a `select 1`, and how long it waits for
   * the answer before calling the connection lost. A silently dead connection (a partition without
   * a reset, a NAT that dropped an idle flow) is then noticed within `every + timeout`, instead of
   * when TCP keepalive gives up; the traffic also keeps idle-dropping middleboxes away.
   * Default: every 2 s, 3 s timeout.
   */
  readonly heartbeat?: Heartbeat
}

const DEFAULT_HEARTBEAT: Heartbeat = { every: Duration.seconds(2), timeout: Duration.seconds(3) }

type InvalidationEvent = Invalidations.InvalidationEvent

const LOST: InvalidationEvent = { _tag: "Lost" }
const RESET: InvalidationEvent = { _tag: "Reset" }

/** 100 ms, doubling, jittered so a fleet that lost the same server does not reconnect in lockstep; at most 2 s. */
const reconnectSchedule = Schedule.exponential("100 millis").pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("2 seconds"))
)

/** Bounds the LISTEN round trip: a server that accepts the socket but never answers must not stall us. */
const LISTEN_TIMEOUT = "10 seconds"
const CONNECT_TIMEOUT_MILLIS = 10_000
const CLOSE_TIMEOUT = "2 seconds"

/** One attempt to listen failed; internal, since the stream itself never fails. */
class ListenerFailed extends Data.TaggedError("ListenerFailed")<{ readonly message: string }> {}

/** What is safe to log about a `pg` failure: its SQLSTATE or errno code and message, never its config. */
const describeFailure = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    return typeof code === "string" ? `${code}: ${cause.message}` : cause.message
  }
  return String(cause)
}

interface Listener {
  readonly client: pg.Client
  /** Completes with the reason once the connection is lost. */
  readonly lost: Deferred.Deferred<string>
}

const closeQuietly = (client: pg.Client): Effect.Effect<void> =>
  Effect.suspend(() => {
    // Our own `end()` also emits "end": detach the loss handlers first so closing is not a loss.
    client.removeAllListeners("notification")
    client.removeAllListeners("end")
    client.removeAllListeners("error")
    client.on("error", () => {})
    return Effect.promise(() => client.end().catch(() => undefined))
  }).pipe(Effect.timeoutOption(CLOSE_TIMEOUT), Effect.asVoid)

/**
 * A connected client that has executed `LISTEN`, forwarding every hash to `onHash`. On failure or
 * interruption it closes the client itself, so a failed attempt never leaves a backend behind.
 */
const openListener = (
  url: Redacted.Redacted<string>,
  onHash: (hash: string) => void
): Effect.Effect<Listener, ListenerFailed> =>
  Effect.gen(function* () {
    const lost = yield* Deferred.make<string>()
    const client = new pg.Client({
      connectionString: Redacted.value(url),
      application_name: APPLICATION_NAME,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MILLIS
    })
    client.on("notification", (message) => {
      if (message.channel === CHANNEL && message.payload) onHash(message.payload)
    })
    client.on("error", (error) => Deferred.unsafeDone(lost, Exit.succeed(describeFailure(error))))
    client.on("end", () => Deferred.unsafeDone(lost, Exit.succeed("connection ended")))
    return yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) => new ListenerFailed({ message: `could not connect: ${describeFailure(cause)}` })
    }).pipe(
      Effect.zipRight(
        Effect.tryPromise({
          try: () => client.query(`LISTEN ${pg.escapeIdentifier(CHANNEL)}`),
          catch: (cause) => new ListenerFailed({ message: `LISTEN failed: ${describeFailure(cause)}` })
        }).pipe(
          Effect.timeoutFail({
            duration: LISTEN_TIMEOUT,
            onTimeout: () => new ListenerFailed({ message: `LISTEN got no answer within ${LISTEN_TIMEOUT}` })
          })
        )
      ),
      Effect.as<Listener>({ client, lost }),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : closeQuietly(client)))
    )
  })

/** Completes with a reason once a `select 1` on the listener goes unanswered or fails. */
const heartbeat = (client: pg.Client, settings: Heartbeat): Effect.Effect<string> =>
  Effect.tryPromise(() => client.query("select 1")).pipe(
    Effect.timeoutFail({ duration: settings.timeout, onTimeout: () => "heartbeat unanswered" }),
    Effect.zipRight(Effect.sleep(settings.every)),
    Effect.forever,
    Effect.catchAll((error) =>
      Effect.succeed(typeof error === "string" ? error : `heartbeat failed: ${describeFailure(error.error)}`)
    )
  )

/**
 * Keeps one listener alive for the life of the calling fiber. `listening` completes once the first
 * attempt has either succeeded or failed, which is what `subscribe` waits for.
 */
const superviseListener = (
  url: Redacted.Redacted<string>,
  beat: Heartbeat,
  events: Queue.Enqueue<InvalidationEvent>,
  listening: Deferred.Deferred<void>
): Effect.Effect<never> => {
  const emit = (event: InvalidationEvent) => Queue.offer(events, event)
  const open = openListener(url, (hash) => Queue.unsafeOffer(events, { _tag: "KeyChanged", hash }))
  // Holds a connection until it is lost; returns the reason.
  const holdConnection = (
    connect: Effect.Effect<Listener, ListenerFailed>,
    onListening: Effect.Effect<unknown>
  ): Effect.Effect<string, ListenerFailed> =>
    Effect.acquireUseRelease(
      // Interruptible so closing the scope mid-reconnect does not wait for the backoff to finish.
      Effect.interruptible(connect),
      ({ client, lost }) =>
        Effect.zipRight(onListening, Effect.raceFirst(Deferred.await(lost), heartbeat(client, beat))),
      ({ client }) => closeQuietly(client)
    )
  const reconnect = open.pipe(
    Effect.tapError((error) =>
      Effect.logDebug("invalidation listener: reconnect attempt failed", error.message)
    ),
    Effect.retry(reconnectSchedule)
  )
  const onLoss = (reason: string) =>
    Effect.logWarning(
      "invalidation listener lost its connection; verifying against the store until it reconnects",
      reason
    )

  return holdConnection(open, Deferred.succeed(listening, undefined)).pipe(
    Effect.tap(onLoss),
    Effect.catchAll((error) =>
      Effect.logWarning(
        "invalidation listener could not connect; verifying against the store until it does",
        error.message
      )
    ),
    // Releases `subscribe` even when the first attempt failed: the Lost that follows covers the gap.
    Effect.zipRight(Deferred.succeed(listening, undefined)),
    Effect.zipRight(
      Effect.forever(
        emit(LOST).pipe(
          Effect.zipRight(
            holdConnection(
              reconnect,
              emit(RESET).pipe(Effect.zipRight(Effect.logInfo("invalidation listener listening again")))
            )
          ),
          Effect.tap(onLoss),
          // Unreachable with an unending retry schedule; looping again is the right answer regardless.
          Effect.catchAll(() => Effect.void)
        )
      )
    )
  )
}

export const make = (
  options: PgInvalidationsOptions
): Effect.Effect<Invalidations.Invalidations["Type"], never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => ({
    publish: (hash) =>
      sql`select pg_notify(${CHANNEL}, ${hash})`.pipe(
        Effect.asVoid,
        Effect.mapError(
          (cause) => new Errors.StoreUnavailable({ message: "could not publish a key invalidation", cause })
        )
      ),
    subscribe: Effect.gen(function* () {
      // Shutting the queue down on scope close is what ends the stream.
      const events = yield* Effect.acquireRelease(Queue.unbounded<InvalidationEvent>(), Queue.shutdown)
      const listening = yield* Deferred.make<void>()
      yield* Effect.forkScoped(
        superviseListener(options.url, options.heartbeat ?? DEFAULT_HEARTBEAT, events, listening)
      )
      yield* Deferred.await(listening)
      return Stream.fromQueue(events)
    })
  }))

export const layer = (
  options: PgInvalidationsOptions
): Layer.Layer<Invalidations.Invalidations, never, SqlClient.SqlClient> =>
  Layer.effect(Invalidations.Invalidations, make(options))

/** Listens on the database named by `DATABASE_URL`. */
export const layerConfig: Layer.Layer<
  Invalidations.Invalidations,
  ConfigError.ConfigError,
  SqlClient.SqlClient
> = Layer.unwrapEffect(Effect.map(Config.redacted("DATABASE_URL"), (url) => layer({ url })))
