/**
 * Helpers for the adapters' tests on the machine's Redis (127.0.0.1:6379): a unique key prefix per
 * run (its keys deleted afterwards, never FLUSHALL), layers started in scopes of their own, bounded
 * waits.
 */
import { randomBytes } from "node:crypto"
import { createServer, type AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { type Context, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { Redis as IORedis } from "ioredis"

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

/** A BullMQ prefix no other run uses. */
export const uniquePrefix = (): string => `test_${process.pid}_${randomBytes(4).toString("hex")}`

/** A client for the test's own look at Redis. */
export const client = (url: string = REDIS_URL): IORedis => {
  const redis = new IORedis(url, { maxRetriesPerRequest: 1 })
  redis.on("error", () => undefined)
  return redis
}

/** Deletes every key under `prefix` (never anything else). */
export const deleteKeys = async (prefix: string, url: string = REDIS_URL): Promise<void> => {
  const redis = client(url)
  try {
    const keys = await redis.keys(`${prefix}:*`)
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
  } finally {
    redis.disconnect()
  }
}

/** A port nothing listens on right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

export const quiet = (level: LogLevel.LogLevel = LogLevel.Warning) => Logger.minimumLogLevel(level)

export interface Running<ROut> {
  readonly context: Context.Context<ROut>
  readonly run: <A, E>(effect: Effect.Effect<A, E, ROut>) => Promise<A>
  readonly close: () => Promise<void>
}

/** Builds `layer` in a scope of its own; `close` runs its finalizers (idempotent). */
export const start = async <ROut, E>(layer: Layer.Layer<ROut, E>): Promise<Running<ROut>> => {
  const scope = await Effect.runPromise(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(layer.pipe(Layer.provide(quiet())), scope).pipe(Effect.orDie)
  ).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
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

/** Polls `check` until it holds; throws after `timeout` ms. */
export const waitFor = async (
  check: () => boolean | Promise<boolean>,
  options: { readonly timeout: number; readonly interval?: number; readonly message: string }
): Promise<void> => {
  const deadline = Date.now() + options.timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out: ${options.message}`)
    await sleep(options.interval ?? 50)
  }
}

const cleanups: Array<() => Promise<unknown>> = []

/** Runs `release` after the current test (last registered, first run). */
export const onCleanup = (release: () => Promise<unknown>): void => {
  cleanups.push(release)
}

/** For `afterEach`: releases everything the test registered, even when it failed. */
export const runCleanups = async (): Promise<void> => {
  for (const release of cleanups.splice(0).reverse()) await release().catch(() => undefined)
}
