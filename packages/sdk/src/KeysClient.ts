/**
 * The keys API as an Effect service. The client is derived from `@keys/http`'s `HttpApi` definition
 * (`HttpApiClient.make`), so requests and answers are checked against the very schemas the server
 * uses. Failures are the tagged errors of `ClientError`; idempotent calls (`list`, `get`, `revoke`,
 * `verify`) retry network failures, timeouts and server errors with exponential backoff; every
 * attempt has its own timeout. Only `fetch` is used: it runs on Node 20+, Deno, Bun, workers.
 *
 * @example
 * import { KeysClient } from "@keys/sdk/effect"
 * const program = Effect.gen(function* () {
 *   const keys = yield* KeysClient.KeysClient
 *   const created = yield* keys.create({ name: "Production", scopes: ["send"] })
 *   return yield* keys.verify(created.key, { scopes: ["send"] })
 * }).pipe(Effect.provide(KeysClient.layerConfig))
 */
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import type { ApiKey } from "@keys/core"
import { KeysApi } from "@keys/http"
import {
  Chunk,
  Config,
  ConfigError,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  ParseResult,
  Redacted,
  Schedule,
  Stream
} from "effect"
import { type ClientError, isTransient, KeysError } from "./ClientError.js"
import { toClientError, UnreadableAnswer } from "./internal/failures.js"

/** Where the API listens when neither an option nor `KEYS_API_URL` says otherwise. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8080"
/** How long one attempt may take, connecting and reading the answer included. */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(10)
/** How many times an idempotent call is retried after a transient failure. */
export const DEFAULT_RETRIES = 2

/** How to reach the API. */
export interface Options {
  /** A root key (`keys:read`, `keys:write`, `keys:verify`; `admin` to act on other teams). */
  readonly apiKey: Redacted.Redacted<string> | string
  /** The API's address, e.g. `https://keys.internal`. Default `http://127.0.0.1:8080`. */
  readonly baseUrl?: string | URL | undefined
  /** Per attempt. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries of idempotent calls after a network failure, timeout or 5xx. Default 2; 0 turns them off. */
  readonly retries?: number | undefined
}

/** A key as every list, get, update and revoke answers it (times as `Date`). */
export type Key = ApiKey.ApiKey

/** The answer of `create` and `roll`: the key plus its plaintext, redacted so logging it is safe. */
export interface CreatedKey extends Key {
  /** The plaintext (`sk_live_…`), shown this once; read it with `Redacted.value`. */
  readonly key: Redacted.Redacted<string>
}

/** One page of `list`, newest first; `nextCursor` is null on the last page. */
export type KeyPage = typeof KeysApi.KeyPage.Type

/** What `verify` answers: `valid`, the `code` and the HTTP `status` to answer your own caller with. */
export type VerifyResult = KeysApi.VerifyResponse

/** Input of `create`; `teamId` defaults to the client key's team (another team needs `admin`). */
export type CreateKeyInput = ApiKey.CreateKeyInput

/** Input of `update`: only the fields given change; `null` clears a field. */
export type UpdateKeyInput = ApiKey.UpdateKeyInput

/** Filters of `list` and `listAll`. */
export interface ListParams {
  readonly teamId?: string | undefined
  readonly status?: ApiKey.KeyStatus | undefined
  readonly environment?: ApiKey.Environment | undefined
  /** Only keys whose expiry falls within this window from now. */
  readonly expiringWithin?: Duration.DurationInput | undefined
  /** Page size, 1 to 100 (default 20; `listAll` uses 100). */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/** For an `admin` key: the team a call on one key acts on (default: the client key's own team). */
export interface TeamOption {
  readonly teamId?: string | undefined
}

/** Options of `roll`. */
export interface RollOptions extends TeamOption {
  /** How long the old key keeps working, 0 to 2 592 000 (30 days); 0 revokes it at once. */
  readonly gracePeriodSeconds?: number | undefined
}

/** What the key under test must be allowed to do. */
export interface VerifyOptions {
  /** Scopes it must hold, all of them. */
  readonly scopes?: ReadonlyArray<string> | undefined
  /** The resource the request acts on, for keys restricted to a list. */
  readonly resource?: string | undefined
}

/** The operations of contract section 8. */
export interface Client {
  /** `POST /v1/keys`. Not retried: a retry could create the key twice. */
  readonly create: (input: CreateKeyInput) => Effect.Effect<CreatedKey, ClientError>
  /** `GET /v1/keys`: one page. */
  readonly list: (params?: ListParams) => Effect.Effect<KeyPage, ClientError>
  /** Every key matching the filters, page after page (100 per request unless `limit` says). */
  readonly listAll: (params?: Omit<ListParams, "cursor">) => Stream.Stream<Key, ClientError>
  /** `GET /v1/keys/{id}`. */
  readonly get: (id: string, options?: TeamOption) => Effect.Effect<Key, ClientError>
  /** `PATCH /v1/keys/{id}`. Not retried. */
  readonly update: (
    id: string,
    patch: UpdateKeyInput,
    options?: TeamOption
  ) => Effect.Effect<Key, ClientError>
  /** `DELETE /v1/keys/{id}`: refused everywhere at once; repeating it is a no-op. */
  readonly revoke: (id: string, options?: TeamOption) => Effect.Effect<Key, ClientError>
  /** `POST /v1/keys/{id}/roll`: a replacement with the same settings. Not retried. */
  readonly roll: (id: string, options?: RollOptions) => Effect.Effect<CreatedKey, ClientError>
  /**
   * `POST /v1/keys/verify`: an invalid, expired or under-scoped key is an answer (`valid: false`),
   * never a failure; failures are about the client's own key or the connection.
   */
  readonly verify: (
    key: Redacted.Redacted<string> | string,
    options?: VerifyOptions
  ) => Effect.Effect<VerifyResult, ClientError>
}

/** The service tag. */
export class KeysClient extends Context.Tag("@keys/sdk/KeysClient")<KeysClient, Client>() {}

const withoutTrailingSlash = (url: string | URL): string => url.toString().replace(/\/+$/, "")

const redactedKey = <A extends { readonly key: string }>(
  created: A
): Omit<A, "key"> & { key: Redacted.Redacted<string> } => ({
  ...created,
  key: Redacted.make(created.key)
})

const defined = <A extends Record<string, unknown>>(
  record: A
): { [K in keyof A]: Exclude<A[K], undefined> } =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as {
    [K in keyof A]: Exclude<A[K], undefined>
  }

/** The client, on the `HttpClient` of the context. */
export const make = (options: Options): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const baseUrl = withoutTrailingSlash(options.baseUrl ?? DEFAULT_BASE_URL)
    const apiKey = typeof options.apiKey === "string" ? Redacted.make(options.apiKey) : options.apiKey
    const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
    const retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES))

    const api = yield* HttpApiClient.make(KeysApi.KeysApi, {
      baseUrl,
      transformClient: (client) =>
        client.pipe(
          HttpClient.mapRequest((request) =>
            request.pipe(HttpClientRequest.bearerToken(apiKey), HttpClientRequest.acceptJson)
          ),
          // Error answers are read by `toClientError` from the contract's `{code, message}` body.
          HttpClient.filterStatusOk
        ),
      transformResponse: (effect) =>
        Effect.catchIf(effect, ParseResult.isParseError, (error) => Effect.fail(new UnreadableAnswer(error)))
    })

    const timedOut = () =>
      new KeysError({
        status: 0,
        code: "timeout",
        message: `No answer from the keys API at ${baseUrl} within ${Duration.format(timeout)}.`,
        requestId: undefined
      })

    /** One attempt: failures as client errors, bounded by the timeout. */
    const attempt = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, ClientError> =>
      effect.pipe(
        Effect.catchAll((error) => Effect.flatMap(toClientError(error, baseUrl), Effect.fail)),
        Effect.timeoutFail({ duration: timeout, onTimeout: timedOut })
      )

    const backoff = Schedule.exponential(Duration.millis(200), 2).pipe(
      Schedule.jittered,
      Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(5))),
      Schedule.intersect(Schedule.recurs(retries))
    )

    /** For calls without side effects (or whose repetition is a no-op) only. */
    const retried = <A>(effect: Effect.Effect<A, ClientError>): Effect.Effect<A, ClientError> =>
      retries === 0 ? effect : Effect.retry(effect, { schedule: backoff, while: isTransient })

    const team = (options: TeamOption | undefined) => defined({ teamId: options?.teamId })

    const list = (params: ListParams = {}): Effect.Effect<KeyPage, ClientError> =>
      retried(
        attempt(
          api.keys.list({
            urlParams: defined({
              teamId: params.teamId,
              status: params.status,
              environment: params.environment,
              expiringWithin:
                params.expiringWithin === undefined ? undefined : Duration.decode(params.expiringWithin),
              limit: params.limit,
              cursor: params.cursor
            })
          })
        )
      )

    return KeysClient.of({
      create: (input) => attempt(api.keys.create({ payload: input })).pipe(Effect.map(redactedKey)),
      list,
      listAll: (params = {}) =>
        Stream.paginateChunkEffect(undefined as string | undefined, (cursor) =>
          list({ ...params, limit: params.limit ?? 100, cursor }).pipe(
            Effect.map(
              (page) => [Chunk.fromIterable(page.data), Option.fromNullable(page.nextCursor)] as const
            )
          )
        ),
      get: (id, options) => retried(attempt(api.keys.get({ path: { id }, urlParams: team(options) }))),
      update: (id, patch, options) =>
        attempt(api.keys.update({ path: { id }, urlParams: team(options), payload: patch })),
      revoke: (id, options) => retried(attempt(api.keys.revoke({ path: { id }, urlParams: team(options) }))),
      roll: (id, options) =>
        attempt(
          api.keys.roll({
            path: { id },
            urlParams: team(options),
            payload: defined({ gracePeriodSeconds: options?.gracePeriodSeconds })
          })
        ).pipe(Effect.map(redactedKey)),
      verify: (key, options) =>
        retried(
          attempt(
            api.verification.verify({
              payload: defined({
                key: typeof key === "string" ? key : Redacted.value(key),
                scopes: options?.scopes,
                resource: options?.resource
              })
            })
          )
        )
    })
  })

/** The client over the platform's `fetch`. */
export const layer = (options: Options): Layer.Layer<KeysClient> =>
  Layer.effect(KeysClient, make(options)).pipe(Layer.provide(FetchHttpClient.layer))

const nonEmptyRedacted = (name: string) =>
  Config.redacted(name).pipe(
    Config.mapOrFail((value) =>
      Redacted.value(value).trim().length === 0
        ? Either.left(ConfigError.InvalidData([name], "is empty"))
        : Either.right(value)
    )
  )

const baseUrlConfig = Config.string("KEYS_API_URL").pipe(
  Config.withDefault(DEFAULT_BASE_URL),
  Config.mapOrFail((text) =>
    URL.canParse(text)
      ? Either.right(text)
      : Either.left(
          ConfigError.InvalidData(["KEYS_API_URL"], `"${text}" is not a URL (e.g. http://127.0.0.1:8080)`)
        )
  )
)

/** `KEYS_API_KEY` (required, read as `Redacted`) and `KEYS_API_URL` (default `http://127.0.0.1:8080`). */
export const config: Config.Config<Options> = Config.all({
  apiKey: nonEmptyRedacted("KEYS_API_KEY"),
  baseUrl: baseUrlConfig
})

/** The client from the environment; fails with a `ConfigError` naming the variable. */
export const layerConfig: Layer.Layer<KeysClient, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, layer)
)
