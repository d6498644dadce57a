/**
 * End-to-end helpers: the whole API (apps/api) started in process on port 0 over a fresh database
 * on the machine's PostgreSQL (127.0.0.1:5432, trust auth, dropped afterwards), serving the built
 * dashboard; Debian's chromium driven by playwright-core; small HTTP helpers over `fetch`.
 */
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { KeysConfig, RootKeys } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { TestDatabase } from "@keys/postgres/testing"
import { Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import { type Browser, chromium } from "playwright-core"
import * as App from "../../api/src/App.js"
import * as Http from "../../api/src/Http.js"

export const { ADMIN_URL, freshDatabase, urlFor } = TestDatabase
export const CHROMIUM = "/usr/bin/chromium"

/** Why the browser tests cannot run here, or undefined when they can. */
export const browserMissing: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (apt-get install -y chromium; .ci/run does it)`

export interface Credential {
  readonly key: string
  readonly id: string
}

export interface RunningApi {
  readonly url: string
  readonly rootKey: (teamId?: string) => Promise<Credential>
  readonly close: () => Promise<void>
}

/** The API on a fresh database, with usage flushed every 200 ms so "Last used" shows up quickly. */
export const startApi = async (): Promise<RunningApi> => {
  const scope = await Effect.runPromise(Scope.make())
  try {
    const { url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
    const layer = App.make(
      PgStore.layer({ url }),
      KeysConfig.layer({ usageFlushInterval: Duration.millis(200) }),
      { port: 0, host: "127.0.0.1" }
    ).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)))
    const context = await Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(Effect.orDie))
    const server = context.unsafeMap.get(Http.ApiServer.key) as Http.ApiServer["Type"]
    return {
      url: server.url,
      rootKey: (teamId = "default") =>
        Effect.runPromise(
          RootKeys.create({ teamId, name: `Root key ${randomBytes(2).toString("hex")}`, admin: false }).pipe(
            Effect.map((created) => ({ key: Redacted.value(created.secret), id: created.key.id })),
            Effect.provide(context)
          )
        ),
      close: () => Effect.runPromise(Scope.close(scope, Exit.void))
    }
  } catch (error) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  }
}

export interface Reply {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON fields
  readonly json: any
  readonly text: string
}

/** One request with the global fetch; JSON bodies in and out. */
export const request = async (
  base: string,
  method: string,
  path: string,
  options: {
    readonly key?: string
    readonly body?: unknown
    readonly headers?: Record<string, string>
  } = {}
): Promise<Reply> => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
  if (options.body !== undefined) headers["content-type"] ??= "application/json"
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    redirect: "manual",
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(20_000)
  })
  const text = await response.text()
  let json: unknown
  try {
    json = text.length === 0 ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, json, text }
}

/** Debian's chromium, headless, with the flags that keep it off the (closed) network. */
export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh temporary profile (--user-data-dir) of its own.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
