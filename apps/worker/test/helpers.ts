/**
 * Integration helpers for the worker: a fresh PostgreSQL database per test (127.0.0.1:5432, trust
 * auth, dropped afterwards), a unique BullMQ prefix per run on the shared Redis (its keys deleted
 * afterwards, never FLUSHALL), private redis-server processes for tests that stop Redis, layers
 * started in their own scopes, and a webhook receiver that checks every signature.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { createServer as createNetServer, type AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { Redis } from "@keys/bullmq"
import {
  ApiKeys,
  KeysConfig,
  type Notifier,
  SecureRandom,
  UsageSink,
  WebhookNotifier,
  WebhookSignature
} from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { PgStore } from "@keys/postgres"
import { TestDatabase } from "@keys/postgres/testing"
import { type Context, Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import { Redis as IORedis } from "ioredis"
import pg from "pg"
import * as WorkerApp from "../src/WorkerApp.js"

export const { ADMIN_URL, freshDatabase, urlFor } = TestDatabase
export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

// --- PostgreSQL ------------------------------------------------------------------------------

export interface Database {
  readonly name: string
  readonly url: Redacted.Redacted<string>
  /** A small pool for the test's own assertions. */
  readonly pool: pg.Pool
  readonly drop: () => Promise<void>
}

/** `freshDatabase` for async tests, with a pool to query it. */
export const createDatabase = async (): Promise<Database> => {
  const scope = await Effect.runPromise(Scope.make())
  const { name, url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
  const pool = new pg.Pool({ connectionString: Redacted.value(url), max: 3 })
  pool.on("error", () => undefined)
  return {
    name,
    url,
    pool,
    drop: async () => {
      await pool.end().catch(() => undefined)
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

// --- Redis -----------------------------------------------------------------------------------

/** A BullMQ prefix no other run uses. */
export const uniquePrefix = (): string => `test_${process.pid}_${randomBytes(4).toString("hex")}`

/** Deletes every key under `prefix` (never anything else). */
export const deleteKeys = async (url: string, prefix: string): Promise<void> => {
  const redis = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true })
  redis.on("error", () => undefined)
  try {
    await redis.connect()
    const keys = await redis.keys(`${prefix}:*`)
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
  } catch {
    // best effort: a stopped private server has nothing to clean
  } finally {
    redis.disconnect()
  }
}

/** A port nothing listens on right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createNetServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A private redis-server (no persistence) on `port`, so a test may stop it. */
export interface PrivateRedis {
  readonly port: number
  readonly url: string
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
}

export const privateRedis = (port: number): PrivateRedis => {
  let child: ChildProcess | undefined
  const url = `redis://127.0.0.1:${port}`
  const ping = async (): Promise<boolean> => {
    const redis = new IORedis(url, { maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null })
    redis.on("error", () => undefined)
    try {
      await redis.connect()
      return (await redis.ping()) === "PONG"
    } catch {
      return false
    } finally {
      redis.disconnect()
    }
  }
  return {
    port,
    url,
    start: async () => {
      const started = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--daemonize",
          "no"
        ],
        { stdio: "ignore" }
      )
      child = started
      const deadline = Date.now() + 10_000
      while (!(await ping())) {
        if (started.exitCode !== null || Date.now() > deadline)
          throw new Error(`redis-server on port ${port} did not start`)
        await sleep(50)
      }
    },
    stop: async () => {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
      running.kill("SIGKILL")
      await exited
    }
  }
}

// --- layers in their own scopes ----------------------------------------------------------------

/** Logs at Warning and above only (or none): the tests' output stays readable. */
export const quiet = (level: LogLevel.LogLevel = LogLevel.Warning) => Logger.minimumLogLevel(level)

export interface Running<ROut> {
  readonly context: Context.Context<ROut>
  readonly run: <A, E>(effect: Effect.Effect<A, E, ROut>) => Promise<A>
  /** Closes the layer's scope (idempotent). */
  readonly close: () => Promise<void>
}

/** Builds `layer` in a scope of its own; `close` runs its finalizers. */
export const start = async <ROut, E>(layer: Layer.Layer<ROut, E>): Promise<Running<ROut>> => {
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(Effect.orDie)).catch(
    async (error: unknown) => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      throw error
    }
  )
  let closing: Promise<void> | undefined
  return {
    context,
    run: (effect) => Effect.runPromise(Effect.provide(effect, context)),
    close: () => {
      closing ??= Effect.runPromise(Scope.close(scope, Exit.void))
      return closing
    }
  }
}

/**
 * ApiKeys on the store with usage written directly: for seeding keys (it also runs the migrations
 * once, before several workers start on the same database).
 */
export const seedServices = (url: Redacted.Redacted<string>) =>
  ApiKeys.layerWithCompanions.pipe(
    Layer.provideMerge(UsageSink.layerDirect),
    Layer.provideMerge(PgStore.layer({ url, maxConnections: 4 })),
    Layer.provideMerge(Layer.mergeAll(KeyHasherLive, SecureRandom.layer, KeysConfig.layer())),
    Layer.provide(quiet())
  )

export const listen = { port: 0, host: "127.0.0.1" } as const

/** The worker in process on `url` and `redis` (its /healthz and /metrics on a free port). */
export const startWorker = (
  url: Redacted.Redacted<string>,
  redis: Layer.Layer<Redis.RedisSettings>,
  settings: Layer.Layer<KeysConfig.KeysConfig>,
  notifier: Layer.Layer<Notifier.Notifier>
) =>
  start(
    WorkerApp.make(PgStore.layer({ url, maxConnections: 4 }), redis, settings, listen, notifier).pipe(
      Layer.provide(quiet())
    )
  )

/** `apps/worker` itself: where `node --import tsx src/main.ts` runs. */
export const WORKER_DIR = new URL("..", import.meta.url).pathname

export interface WorkerProcess {
  readonly child: ChildProcess
  /** What it printed so far (stdout and stderr), for failure messages. */
  readonly output: () => string
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>
  /** SIGKILL, unless it already exited. */
  readonly kill: () => Promise<void>
}

/** `main.ts` as a child process with `env` added to this process's environment. */
export const spawnWorker = (env: Record<string, string>): WorkerProcess => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: WORKER_DIR,
    env: { ...process.env, KEYS_LOG_LEVEL: "Warning", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8")
  }
  child.stdout?.on("data", collect)
  child.stderr?.on("data", collect)
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  )
  return {
    child,
    output: () => output,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      await exited
    }
  }
}

// --- per-test resources --------------------------------------------------------------------------

const cleanups: Array<() => Promise<unknown>> = []

/** Runs `release` after the current test (last registered, first run). */
export const onCleanup = (release: () => Promise<unknown>): void => {
  cleanups.push(release)
}

/** For `afterEach`: releases everything the test registered, even when it failed. */
export const runCleanups = async (): Promise<void> => {
  for (const release of cleanups.splice(0).reverse()) await release().catch(() => undefined)
}

/**
 * A fresh database (migrated, with ApiKeys on it for seeding) and a fresh BullMQ prefix on the
 * Redis at `redisUrl` (the shared one by default), all released after the test.
 */
export const setup = async (redisUrl: string = SHARED_REDIS_URL) => {
  const database = await createDatabase()
  onCleanup(database.drop)
  const prefix = uniquePrefix()
  onCleanup(() => deleteKeys(redisUrl, prefix))
  const redis = Redis.layer({ url: Redacted.make(redisUrl), prefix })
  const seed = await start(seedServices(database.url))
  onCleanup(seed.close)
  return { database, prefix, redis, seed }
}

// --- waiting -----------------------------------------------------------------------------------

/** Polls `check` every `interval` ms until it holds; throws `message` after `timeout` ms. */
export const waitFor = async (
  check: () => boolean | Promise<boolean>,
  options: {
    readonly timeout: number
    readonly interval?: number
    readonly message: string | (() => string)
  }
): Promise<void> => {
  const deadline = Date.now() + options.timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline)
      throw new Error(
        `timed out: ${typeof options.message === "string" ? options.message : options.message()}`
      )
    await sleep(options.interval ?? 100)
  }
}

// --- webhook receiver --------------------------------------------------------------------------

export interface Received {
  readonly index: number
  /** The `Keys-Delivery-Id` header. */
  readonly deliveryId: string | undefined
  readonly body: string
  readonly json: {
    readonly id: string
    readonly type: string
    readonly teamId: string
    readonly threshold: string
    readonly keys: ReadonlyArray<{ readonly id: string; readonly teamId: string }>
  }
  readonly signatureValid: boolean
  readonly at: number
  /** What the receiver answered; undefined while stalled (never answered). */
  status: number | undefined
}

/** What to do with a request: answer a status, or stall (never answer). */
export type Answer = number | "stall"

export interface Receiver {
  readonly url: string
  readonly received: Array<Received>
  /** Bodies the receiver acknowledged with a 2xx. */
  readonly acknowledged: () => ReadonlyArray<Received>
  readonly close: () => Promise<void>
}

/** A webhook receiver on 127.0.0.1 (port 0) checking every `Keys-Signature` against `secret`. */
export const startReceiver = async (
  secret: string,
  answer: (request: { readonly index: number; readonly deliveryId: string | undefined }) => Answer = () => 200
): Promise<Receiver> => {
  const received: Array<Received> = []
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString("utf8")
    const header = req.headers["keys-signature"]
    const signatureValid = await WebhookSignature.verifyWebhookSignature(
      secret,
      typeof header === "string" ? header : undefined,
      body
    )
    const deliveryId = req.headers["keys-delivery-id"]
    const entry: Received = {
      index: received.length,
      deliveryId: typeof deliveryId === "string" ? deliveryId : undefined,
      body,
      json: JSON.parse(body) as Received["json"],
      signatureValid,
      at: Date.now(),
      status: undefined
    }
    received.push(entry)
    const decision = answer({ index: entry.index, deliveryId: entry.deliveryId })
    if (decision === "stall") return
    entry.status = decision
    res.writeHead(decision, { "content-type": "application/json" }).end("{}")
  }
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(400).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks/keys`,
    received,
    acknowledged: () => received.filter((entry) => entry.status !== undefined && entry.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

// --- expiry fixtures ---------------------------------------------------------------------------

export const SECRET = "whsec_test_secret"
const HOUR = 3_600_000

/** The webhook notifier aimed at `receiver`, signing with `SECRET`. */
export const webhook = (receiver: Receiver): Layer.Layer<Notifier.Notifier> =>
  WebhookNotifier.layer({ url: receiver.url, secret: Redacted.make(SECRET), timeout: "5 seconds" })

/** A receiver checking signatures with `SECRET`, closed after the test. */
export const receiverFor = async (answer?: Parameters<typeof startReceiver>[1]): Promise<Receiver> => {
  const receiver = await startReceiver(SECRET, answer)
  onCleanup(receiver.close)
  return receiver
}

/** `count` keys expiring within a day (the `1d` threshold), spread over `teams` teams. */
export const createExpiring = (count: number, teams: number, label: string) =>
  Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        keys.create({
          teamId: `${label}_${String(i % teams).padStart(2, "0")}`,
          name: `expiring ${i}`,
          expiresAt: new Date(Date.now() + 12 * HOUR + i * 1_000)
        }),
      { concurrency: 10 }
    )
  )
