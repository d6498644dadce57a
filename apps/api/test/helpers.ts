/**
 * End-to-end test helpers: a fresh PostgreSQL database per test file (on the machine's server at
 * 127.0.0.1:5432, trust auth, dropped afterwards), the whole API started in process on port 0, root
 * keys minted against the running services, and small HTTP helpers over the global `fetch`.
 */
import { randomBytes } from "node:crypto"
import { type SqlClient, SqlClient as SqlClientTag } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { ApiKeys, KeysConfig } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { TestDatabase } from "@keys/postgres/testing"
import { Context, Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted, Scope } from "effect"
import { expect } from "vitest"
import * as App from "../src/App.js"
import * as Bootstrap from "../src/Bootstrap.js"
import * as Http from "../src/Http.js"

export const { ADMIN_URL, urlFor } = TestDatabase

/** The contract's key format (section 2). */
export const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{48}$/

/** Anything shaped like a plaintext key of the default format, anywhere in a text. */
export const PLAINTEXT_ANYWHERE = /sk_(live|test)_[0-9A-Za-z]{48}/

/** Runs SQL on the server's maintenance database (creating, dropping, fencing test databases). */
export const withAdmin = <A, E>(
  use: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>
): Effect.Effect<A, unknown> =>
  Effect.flatMap(SqlClientTag.SqlClient, use).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(ADMIN_URL), maxConnections: 1 })),
    Effect.scoped
  )

export const { freshDatabase } = TestDatabase

/** Fast usage flushes so `lastUsedAt` shows up quickly; everything else at its defaults. */
export const testSettings = (overrides: Partial<KeysConfig.Settings> = {}) =>
  KeysConfig.layer({ usageFlushInterval: Duration.millis(200), ...overrides })

/** Quiet logs: the access log of every request would drown the test output. */
const quiet = Logger.minimumLogLevel(LogLevel.Warning)

/** A key as the tests hold it: its plaintext, its id and its team. */
export interface Credential {
  readonly key: string
  readonly id: string
  readonly teamId: string
}

export interface RunningApi {
  readonly url: string
  readonly port: number
  /** Runs an effect against this instance's services (ApiKeys and the rest). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, ApiKeys.ApiKeys>) => Promise<A>
  /** A new root key (keys:read, keys:write, keys:verify, plus admin when asked) for `teamId`. */
  readonly rootKey: (teamId: string, options?: { readonly admin?: boolean }) => Promise<Credential>
  /** A key with exactly these scopes (null: unscoped), minted directly through the services. */
  readonly keyWith: (
    teamId: string,
    scopes: ReadonlyArray<string> | null,
    extra?: Partial<Omit<ApiKeys.CreateKeyRequest, "teamId" | "scopes">>
  ) => Promise<Credential>
  /** Stops the server and every service of this instance (idempotent). */
  readonly close: () => Promise<void>
}

/** Starts the API in process on 127.0.0.1, port 0, on `store`; stops it with `close`. */
export const startApi = async <E1, E2>(
  store: Layer.Layer<PgStore.Store, E1>,
  settings: Layer.Layer<KeysConfig.KeysConfig, E2> = testSettings()
): Promise<RunningApi> => {
  const scope = await Effect.runPromise(Scope.make())
  const layer = App.make(store, settings, { port: 0, host: "127.0.0.1" }).pipe(Layer.provide(quiet))
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope).pipe(Effect.orDie)).catch(
    async (error: unknown) => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      throw error
    }
  )
  const server = Context.get(context, Http.ApiServer)
  const run = <A, E>(effect: Effect.Effect<A, E, ApiKeys.ApiKeys>): Promise<A> =>
    Effect.runPromise(Effect.provide(effect, context))
  let closed = false
  return {
    url: server.url,
    port: server.port,
    run,
    rootKey: (teamId, options) =>
      run(
        Bootstrap.createRootKey({ teamId, name: `root ${teamId}`, admin: options?.admin ?? false }).pipe(
          Effect.map((created) => ({ key: Redacted.value(created.secret), id: created.key.id, teamId }))
        )
      ),
    keyWith: (teamId, scopes, extra) =>
      run(
        Effect.flatMap(ApiKeys.ApiKeys, (keys) =>
          keys.create({
            name: `key ${teamId}`,
            ...extra,
            teamId,
            scopes: scopes === null ? null : [...scopes]
          })
        ).pipe(Effect.map((created) => ({ key: Redacted.value(created.secret), id: created.key.id, teamId })))
      ),
    close: async () => {
      if (closed) return
      closed = true
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

/** A fresh database (dropped by `close`) with the API running on it. */
export const startApiOnFreshDatabase = async <E>(
  settings?: Layer.Layer<KeysConfig.KeysConfig, E>
): Promise<RunningApi & { readonly databaseUrl: Redacted.Redacted<string>; readonly database: string }> => {
  const scope = await Effect.runPromise(Scope.make())
  const { name, url } = await Effect.runPromise(Scope.extend(freshDatabase, scope))
  try {
    const api = await startApi(PgStore.layer({ url }), settings ?? testSettings())
    return {
      ...api,
      databaseUrl: url,
      database: name,
      close: async () => {
        await api.close()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }
  } catch (error) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  }
}

/** A team id no other test uses. */
export const uniqueTeam = (label = "team"): string => `${label}_${randomBytes(5).toString("hex")}`

export interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON fields
  readonly json: any
}

export interface RequestOptions {
  readonly key?: string | undefined
  /** Serialised as JSON with `content-type: application/json`. */
  readonly body?: unknown
  /** Sent as is (no content type unless given in `headers`). */
  readonly rawBody?: string | Uint8Array | undefined
  readonly headers?: Record<string, string> | undefined
  readonly query?: Record<string, string | number | undefined> | undefined
}

/** One HTTP request with the global fetch; the whole body read, JSON parsed when possible. */
export const request = async (
  base: { readonly url: string },
  method: string,
  path: string,
  options: RequestOptions = {}
): Promise<Reply> => {
  const headers: Record<string, string> = {}
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`
  let body: string | Uint8Array | undefined
  if (options.body !== undefined) {
    headers["content-type"] = "application/json"
    body = JSON.stringify(options.body)
  } else if (options.rawBody !== undefined) {
    body = options.rawBody
  }
  Object.assign(headers, options.headers)
  const url = new URL(path, base.url)
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value))
  }
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body: body as NonNullable<RequestInit["body"]> }),
    signal: AbortSignal.timeout(20_000)
  })
  const text = await response.text()
  let json: unknown
  try {
    json = text.length === 0 ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

/** A non-2xx answer of the contract: the status, `{code, message}`, JSON content type, a request id. */
export const expectError = (reply: Reply, status: number, code: string): void => {
  expect({ status: reply.status, code: reply.json?.code }, reply.text).toEqual({ status, code })
  expect(typeof reply.json.message).toBe("string")
  expect(reply.json.message.length).toBeGreaterThan(0)
  expect(reply.headers.get("content-type") ?? "").toMatch(/^application\/json/)
  expect(reply.headers.get("x-request-id")).toBeTruthy()
  expect(reply.text).not.toMatch(PLAINTEXT_ANYWHERE)
}

/** A 2xx answer with a JSON body that holds no plaintext key. */
export const expectOk = (reply: Reply, status = 200): void => {
  expect(reply.status, reply.text).toBe(status)
  expect(reply.headers.get("content-type") ?? "").toMatch(/^application\/json/)
  expect(reply.headers.get("x-request-id")).toBeTruthy()
}

/** Polls `check` until it returns a defined value, for at most `timeoutMillis`; fails with `what` after. */
export const waitFor = async <A>(
  what: string,
  check: () => Promise<A | undefined>,
  options: { readonly timeoutMillis?: number; readonly intervalMillis?: number } = {}
): Promise<A> => {
  const deadline = Date.now() + (options.timeoutMillis ?? 5_000)
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(options.intervalMillis ?? 50)
  }
}

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/** The same key with its last (checksum) character changed: well formed, wrong checksum. */
export const withWrongChecksum = (key: string): string => {
  const last = key.at(-1)!
  const replacement = BASE62[(BASE62.indexOf(last) + 1) % BASE62.length]!
  return key.slice(0, -1) + replacement
}

/** A key that looks right but was never issued: random body, wrong checksum almost surely. */
export const randomLookingKey = (environment: "live" | "test" = "live"): string => {
  const bytes = randomBytes(48)
  let body = ""
  for (const byte of bytes) body += BASE62[byte % 62]
  return `sk_${environment}_${body}`
}

/** Creates a key over HTTP and answers the 201 body (with `key`). */
export const createKey = async (
  api: { readonly url: string },
  rootKey: string,
  // biome-ignore lint/suspicious/noExplicitAny: request bodies are free-form in these tests
  body: Record<string, any>
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are free-form in these tests
): Promise<any> => {
  const reply = await request(api, "POST", "/v1/keys", { key: rootKey, body })
  expect(reply.status, reply.text).toBe(201)
  expect(reply.json.key).toMatch(KEY_PATTERN)
  return reply.json
}

/** POST /v1/keys/verify with `rootKey`; the whole reply. */
export const verify = (
  api: { readonly url: string },
  rootKey: string,
  body: { readonly key: string; readonly scopes?: ReadonlyArray<string>; readonly resource?: string }
) => request(api, "POST", "/v1/keys/verify", { key: rootKey, body })
