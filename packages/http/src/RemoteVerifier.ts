/**
 * A `KeyVerifier` that asks a running keys API (`POST /v1/keys/verify`), for services that guard
 * their routes with `KeyAuth` without holding the key store. Anything that keeps the verifier from
 * getting an answer (network, timeout, an unexpected status or body) is `service_unavailable`: a
 * request is never let through, nor the customer's key blamed, because the verifier could not ask.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Scope } from "@keys/core"
import { Config, type ConfigError, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { messages, ServiceUnavailable, statusOf } from "./ApiErrors.js"
import { KeyVerifier, type VerifyOutcome } from "./KeyAuth.js"
import { VerifyRequest, VerifyResponse } from "./KeysApi.js"

export interface Options {
  readonly baseUrl: string
  /** A root key with `keys:verify`, plus `admin` to verify the keys of every team. */
  readonly apiKey: Redacted.Redacted<string>
  /** For the whole call, connecting included. Default 5 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
}

export const DEFAULT_BASE_URL = "http://127.0.0.1:8080"
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(5)

/** Why a call got no usable answer; for logs only, never for the caller. */
type CallFailure =
  | { readonly reason: "unreachable" | "timeout" | "undecodable" }
  | { readonly reason: "root_key_refused" | "status"; readonly status: number; readonly code: string }

const invalid: VerifyOutcome = { valid: false, code: "invalid_api_key" }
const isVerifyRequest = Schema.is(VerifyRequest)
const ErrorBody = Schema.Struct({ code: Schema.String })

/** The error code of a non-200 answer, only when it is one of the contract's (never server text). */
const codeOf = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> =>
  HttpClientResponse.schemaBodyJson(ErrorBody)(response).pipe(
    Effect.map(({ code }) => (Object.hasOwn(statusOf, code) ? code : "unknown")),
    Effect.orElseSucceed(() => "unknown")
  )

/**
 * What the API checks when it is sent the scopes and resource, done here instead when they are not
 * well formed: the API would answer 400 and a client-supplied resource must not turn into a 503.
 * Same order and rules as the core's `Verification.decide`.
 */
const checkLocally = (
  outcome: VerifyOutcome,
  request: Omit<typeof VerifyRequest.Type, "key">
): VerifyOutcome => {
  const key = outcome.key
  if (!outcome.valid || key === undefined) return outcome
  const requiredScopes = Scope.missing(key.scopes, request.scopes ?? [])
  if (requiredScopes.length > 0) return { valid: false, code: "insufficient_scope", key, requiredScopes }
  if (request.resource !== undefined && key.resources !== null && !key.resources.includes(request.resource))
    return { valid: false, code: "resource_not_allowed", key }
  return outcome
}

/** `teamId` is not part of the API's request: the answer carries the key's team, checked here. */
const withinTeam = (outcome: VerifyOutcome, teamId: string | undefined): VerifyOutcome =>
  teamId !== undefined && outcome.key !== undefined && outcome.key.teamId !== teamId ? invalid : outcome

export const make = (options: Options): Effect.Effect<KeyVerifier["Type"], never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/keys/verify`
    const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
    // A refused root key fails every request alike: one error line per episode, not one per request.
    let refusalLogged = false

    const call = (request: typeof VerifyRequest.Type): Effect.Effect<VerifyOutcome, CallFailure> =>
      client
        .execute(
          HttpClientRequest.post(url).pipe(
            HttpClientRequest.bearerToken(options.apiKey),
            HttpClientRequest.acceptJson,
            HttpClientRequest.bodyUnsafeJson(request)
          )
        )
        .pipe(
          Effect.mapError((): CallFailure => ({ reason: "unreachable" })),
          Effect.flatMap((response) => {
            if (response.status === 200) {
              return HttpClientResponse.schemaBodyJson(VerifyResponse)(response).pipe(
                Effect.mapError((): CallFailure => ({ reason: "undecodable" }))
              )
            }
            return Effect.flatMap(codeOf(response), (code) =>
              Effect.fail<CallFailure>({
                reason: response.status === 401 || response.status === 403 ? "root_key_refused" : "status",
                status: response.status,
                code
              })
            )
          }),
          Effect.filterOrFail(
            (answer) =>
              answer.valid === (answer.code === "valid") && (!answer.valid || answer.key !== undefined),
            (): CallFailure => ({ reason: "undecodable" })
          ),
          Effect.map(
            (answer): VerifyOutcome => ({
              valid: answer.valid,
              code: answer.code,
              key: answer.key,
              requiredScopes: answer.requiredScopes
            })
          ),
          Effect.timeoutFail({ duration: timeout, onTimeout: (): CallFailure => ({ reason: "timeout" }) }),
          Effect.tap(() =>
            Effect.sync(() => {
              refusalLogged = false
            })
          )
        )

    // Only the reason, status and contract code are logged: never the request (it holds the root
    // key) nor the server's text.
    const report = (failure: CallFailure): Effect.Effect<never, ServiceUnavailable> => {
      const unavailable = new ServiceUnavailable({ message: messages.unavailable })
      if (failure.reason === "root_key_refused") {
        if (refusalLogged) return Effect.fail(unavailable)
        refusalLogged = true
        return Effect.logError(
          "The keys API refused this verifier's root key: check KEYS_API_KEY (it needs keys:verify, and admin to verify keys of every team)"
        ).pipe(
          Effect.annotateLogs({ status: failure.status, code: failure.code }),
          Effect.zipRight(Effect.fail(unavailable))
        )
      }
      return Effect.logWarning("Key verification got no answer from the keys API").pipe(
        Effect.annotateLogs(failure),
        Effect.zipRight(Effect.fail(unavailable))
      )
    }

    const verify: KeyVerifier["Type"]["verify"] = (token, verifyOptions) =>
      Effect.suspend(() => {
        const key = Redacted.value(token)
        const checks = {
          ...(verifyOptions?.scopes === undefined ? {} : { scopes: verifyOptions.scopes }),
          ...(verifyOptions?.resource === undefined ? {} : { resource: verifyOptions.resource })
        }
        let answered: Effect.Effect<VerifyOutcome, CallFailure>
        if (isVerifyRequest({ key, ...checks })) answered = call({ key, ...checks })
        // Longer than any key the API accepts: no key of ours, and no call needed to say so.
        else if (!isVerifyRequest({ key })) answered = Effect.succeed(invalid)
        else answered = Effect.map(call({ key }), (outcome) => checkLocally(outcome, checks))
        return answered.pipe(
          Effect.map((outcome) => withinTeam(outcome, verifyOptions?.teamId)),
          Effect.catchAll(report)
        )
      })

    return KeyVerifier.of({ verify })
  })

/** For callers that bring their own `HttpClient` (a Node agent, retries, tracing, a test double). */
export const layerWithoutHttpClient = (
  options: Options
): Layer.Layer<KeyVerifier, never, HttpClient.HttpClient> => Layer.effect(KeyVerifier, make(options))

/** Over `fetch`, so it runs on Node, Deno, Bun, workers and edge runtimes alike. */
export const layer = (options: Options): Layer.Layer<KeyVerifier> =>
  layerWithoutHttpClient(options).pipe(Layer.provide(FetchHttpClient.layer))

export const config: Config.Config<Options> = Config.all({
  baseUrl: Config.string("KEYS_API_URL").pipe(
    Config.validate({
      message: "must be an http:// or https:// URL",
      validation: (url) => /^https?:\/\/[^\s/]+/i.test(url)
    }),
    Config.withDefault(DEFAULT_BASE_URL)
  ),
  apiKey: Config.redacted(Config.nonEmptyString("KEYS_API_KEY"))
})

/** `KEYS_API_URL` (default `http://127.0.0.1:8080`) and `KEYS_API_KEY`. */
export const layerConfig: Layer.Layer<KeyVerifier, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(config, layer)
)
