/**
 * The Promise facade: `new Keys()` for code that does not use Effect. Results are the API's JSON
 * (times as ISO-8601 strings); failures are thrown as `KeysError` subclasses. It runs the same
 * derived client as `@keys/sdk/effect`, over `fetch` only.
 */
import { FetchHttpClient } from "@effect/platform"
import { ApiKey, DurationText } from "@keys/core"
import { KeysApi } from "@keys/http"
import { Cause, Duration, Effect, Either, Exit, Option, Redacted, Schema } from "effect"
import type { ClientError } from "./ClientError.js"
import { readEnv } from "./internal/env.js"
import * as KeysClient from "./KeysClient.js"
import { fromClientError, KeysError, ValidationError } from "./KeysError.js"

/** A key as the API answers it (no plaintext). */
export type Key = typeof ApiKey.ApiKey.Encoded

/** The answer of `create` and `roll`: the key and its plaintext in `key`, shown this once. */
export type CreatedKey = typeof KeysApi.CreatedKey.Encoded

/** One page of `list`, newest first; `nextCursor` is null on the last page. */
export type KeyPage = typeof KeysApi.KeyPage.Encoded

/**
 * The answer of `verify`: `valid`, the `code` (`valid`, `invalid_api_key`, `key_expired`,
 * `insufficient_scope`, `resource_not_allowed`, `rate_limited`), the HTTP `status` to answer your own
 * caller with, the `key` when one was identified, and the `requiredScopes` it lacks.
 */
export type VerifyResult = typeof KeysApi.VerifyResponse.Encoded

/** How to reach the API; every field has a default. */
export interface KeysOptions {
  /** A root key. Default: `KEYS_API_KEY`; without either the constructor throws. */
  readonly apiKey?: string | undefined
  /** Default: `KEYS_API_URL`, else `http://127.0.0.1:8080`. */
  readonly baseUrl?: string | undefined
  /** Milliseconds per attempt. Default 10 000. */
  readonly timeout?: number | undefined
  /** Retries of `list`, `get`, `revoke` and `verify` after a network failure, timeout or 5xx. Default 2. */
  readonly retries?: number | undefined
}

/** A time: a `Date` or an ISO-8601 string such as `2027-01-01T00:00:00Z`. */
export type TimeInput = Date | string

/** Input of `create`. */
export interface CreateKeyParams {
  readonly name: string
  /** Default: the team of the SDK's key; another team needs `admin`. */
  readonly teamId?: string | undefined
  /** Default `live`. */
  readonly environment?: "live" | "test" | undefined
  /** Omitted or null: an unscoped key, which passes every product scope check of its team. */
  readonly scopes?: ReadonlyArray<string> | null | undefined
  /** The only resources (e.g. domains) the key may act on; null for any. */
  readonly resources?: ReadonlyArray<string> | null | undefined
  readonly expiresAt?: TimeInput | null | undefined
  readonly metadata?: { readonly [key: string]: unknown } | null | undefined
}

/** Input of `update`: only the fields given change; `null` clears a field. */
export interface UpdateKeyParams {
  readonly name?: string | undefined
  readonly scopes?: ReadonlyArray<string> | null | undefined
  readonly resources?: ReadonlyArray<string> | null | undefined
  readonly expiresAt?: TimeInput | null | undefined
  readonly metadata?: { readonly [key: string]: unknown } | null | undefined
}

/** Filters of `list` and `listAll`. */
export interface ListParams {
  /** For an `admin` key: another team's keys. */
  readonly teamId?: string | undefined
  readonly status?: "active" | "expired" | "revoked" | undefined
  readonly environment?: "live" | "test" | undefined
  /** Keys expiring within this window: `7d`, `24h`, `30m`. */
  readonly expiringWithin?: string | undefined
  /** Page size, 1 to 100 (default 20; `listAll` asks for 100). */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/** For an `admin` key: the team a call on one key acts on (default: the SDK key's own team). */
export interface TeamOptions {
  readonly teamId?: string | undefined
}

/** Options of `roll`. */
export interface RollParams extends TeamOptions {
  /** How long the old key keeps working (0 to 2 592 000); 0, the default, revokes it at once. */
  readonly gracePeriodSeconds?: number | undefined
}

/** What the key under test must be allowed to do. */
export interface VerifyParams {
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly resource?: string | undefined
}

const encodeKey = Schema.encodeSync(ApiKey.ApiKey)
const encodeCreated = Schema.encodeSync(KeysApi.CreatedKey)
const encodePage = Schema.encodeSync(KeysApi.KeyPage)
const encodeVerify = Schema.encodeSync(KeysApi.VerifyResponse)

const created = (key: KeysClient.CreatedKey): CreatedKey =>
  encodeCreated({ ...key, key: Redacted.value(key.key) })

const invalidInput = (field: string, message: string) =>
  new ValidationError({ status: 400, code: "validation_error", field, message: `${field}: ${message}` })

const timeOf = (field: string, input: TimeInput | null | undefined): Date | null | undefined => {
  if (input === undefined || input === null) return input
  const date = input instanceof Date ? input : new Date(input)
  if (Number.isNaN(date.getTime())) throw invalidInput(field, "must be a date such as 2027-01-01T00:00:00Z")
  return date
}

const defined = <A extends Record<string, unknown>>(
  record: A
): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as {
    [K in keyof A]: Exclude<A[K], undefined>
  }

/**
 * The keys API client.
 *
 * @example
 * const keys = new Keys() // KEYS_API_KEY, KEYS_API_URL
 * const { key, id } = await keys.create({ name: "Production", scopes: ["send"] })
 * const result = await keys.verify(key, { scopes: ["send"] })
 * if (!result.valid) console.log(result.code)
 * await keys.revoke(id)
 */
export class Keys {
  /** The API's address, without a trailing slash. */
  readonly baseUrl: string
  readonly #client: KeysClient.Client

  /** Throws a `KeysError` (`missing_api_key`) when no key is given and `KEYS_API_KEY` is unset. */
  constructor(options: KeysOptions = {}) {
    const apiKey = options.apiKey ?? readEnv("KEYS_API_KEY")
    if (apiKey === undefined || apiKey.trim() === "") {
      throw new KeysError({
        status: 0,
        code: "missing_api_key",
        message: "No API key: pass { apiKey } to new Keys() or set KEYS_API_KEY."
      })
    }
    const baseUrl = options.baseUrl ?? readEnv("KEYS_API_URL") ?? KeysClient.DEFAULT_BASE_URL
    if (!URL.canParse(baseUrl)) {
      throw new KeysError({
        status: 0,
        code: "invalid_configuration",
        message: `The keys API address "${baseUrl}" is not a URL (pass { baseUrl } or set KEYS_API_URL).`
      })
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "")
    this.#client = Effect.runSync(
      KeysClient.make({
        apiKey: Redacted.make(apiKey),
        baseUrl: this.baseUrl,
        timeout: Duration.millis(options.timeout ?? Duration.toMillis(KeysClient.DEFAULT_TIMEOUT)),
        retries: options.retries
      }).pipe(Effect.provide(FetchHttpClient.layer))
    )
  }

  /** Creates a key; the answer's `key` is the plaintext, shown this once. */
  create(params: CreateKeyParams): Promise<CreatedKey> {
    return this.#run(() =>
      this.#client
        .create(
          defined({
            ...params,
            expiresAt: timeOf("expiresAt", params.expiresAt)
          }) as KeysClient.CreateKeyInput
        )
        .pipe(Effect.map(created))
    )
  }

  /** One page of the team's keys, newest first. */
  list(params: ListParams = {}): Promise<KeyPage> {
    return this.#run(() => this.#client.list(this.#listParams(params)).pipe(Effect.map(encodePage)))
  }

  /** Every key matching the filters, fetching page after page as the loop asks for more. */
  async *listAll(params: Omit<ListParams, "cursor"> = {}): AsyncGenerator<Key, void, undefined> {
    let cursor: string | undefined
    do {
      const page = await this.list({ ...params, limit: params.limit ?? 100, cursor })
      yield* page.data
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
  }

  /** One key of the team. Throws `NotFoundError` when there is none. */
  get(id: string, options: TeamOptions = {}): Promise<Key> {
    return this.#run(() => this.#client.get(id, options).pipe(Effect.map(encodeKey)))
  }

  /** Changes the fields given; `null` clears one. */
  update(id: string, patch: UpdateKeyParams, options: TeamOptions = {}): Promise<Key> {
    return this.#run(() =>
      this.#client
        .update(
          id,
          defined({ ...patch, expiresAt: timeOf("expiresAt", patch.expiresAt) }) as KeysClient.UpdateKeyInput,
          options
        )
        .pipe(Effect.map(encodeKey))
    )
  }

  /** Revokes the key everywhere at once; repeating it is a no-op. */
  revoke(id: string, options: TeamOptions = {}): Promise<Key> {
    return this.#run(() => this.#client.revoke(id, options).pipe(Effect.map(encodeKey)))
  }

  /** Issues a replacement with the same settings; the old key ends after the grace period. */
  roll(id: string, params: RollParams = {}): Promise<CreatedKey> {
    return this.#run(() => this.#client.roll(id, params).pipe(Effect.map(created)))
  }

  /**
   * Verifies a customer's key. Resolves with the result even when the key is invalid, expired or
   * lacks a scope (`valid: false`); rejects only when the call itself fails.
   */
  verify(key: string, params: VerifyParams = {}): Promise<VerifyResult> {
    return this.#run(() => this.#client.verify(Redacted.make(key), params).pipe(Effect.map(encodeVerify)))
  }

  #listParams(params: ListParams): KeysClient.ListParams {
    const { expiringWithin, ...rest } = params
    if (expiringWithin === undefined) return rest
    const window = DurationText.parse(expiringWithin)
    if (Either.isLeft(window)) throw invalidInput("expiringWithin", window.left)
    return { ...rest, expiringWithin: window.right }
  }

  async #run<A>(call: () => Effect.Effect<A, ClientError>): Promise<A> {
    const exit = await Effect.runPromiseExit(Effect.suspend(call))
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) throw fromClientError(failure.value)
    const defect = Cause.squash(exit.cause)
    if (defect instanceof KeysError) throw defect
    throw new KeysError(
      { status: 0, code: "internal_error", message: "The keys client failed unexpectedly." },
      { cause: defect }
    )
  }
}
