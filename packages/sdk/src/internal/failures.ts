/**
 * Turns whatever a derived client call failed with (an error answer, no answer, an input the schema
 * refused, an answer the schema cannot read) into one of the client's tagged errors.
 */
import { HttpClientError, type HttpClientResponse } from "@effect/platform"
import { Errors, Redaction } from "@keys/core"
import { Effect, ParseResult } from "effect"
import {
  AuthenticationError,
  type ClientError,
  isClientError,
  KeysError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ValidationError
} from "../ClientError.js"

/** A success answer whose body did not match the API definition (kept apart from input errors). */
export class UnreadableAnswer {
  readonly _tag = "UnreadableAnswer"
  constructor(readonly cause: ParseResult.ParseError) {}
}

interface ErrorBody {
  readonly code?: unknown
  readonly message?: unknown
  readonly field?: unknown
  readonly requiredScopes?: unknown
}

const parseBody = (text: string): ErrorBody => {
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === "object" && parsed !== null ? (parsed as ErrorBody) : {}
  } catch {
    return {}
  }
}

/** `Retry-After` in seconds: either delta-seconds or an HTTP date. */
export const retryAfterSeconds = (header: string | undefined, nowMillis: number): number | undefined => {
  if (header === undefined || header.trim() === "") return undefined
  const trimmed = header.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMillis) / 1000))
}

/** The client error for an error answer of the API. */
export const fromAnswer = (
  status: number,
  bodyText: string,
  headers: { readonly [name: string]: string | undefined },
  nowMillis: number
): ClientError => {
  const body = parseBody(bodyText)
  const requestId = headers["x-request-id"]
  const code = typeof body.code === "string" ? body.code : defaultCode(status)
  const message = Redaction.redactSecrets(
    typeof body.message === "string" && body.message.length > 0
      ? body.message
      : `The keys API answered HTTP ${status}.`
  )
  switch (status) {
    case 400:
    case 413:
      return new ValidationError({
        status,
        code,
        message,
        requestId,
        field: typeof body.field === "string" ? body.field : undefined
      })
    case 401:
      return new AuthenticationError({ status, code, message, requestId })
    case 403:
      return new PermissionError({
        status,
        code,
        message,
        requestId,
        requiredScopes: Array.isArray(body.requiredScopes)
          ? body.requiredScopes.filter((scope): scope is string => typeof scope === "string")
          : []
      })
    case 404:
      return new NotFoundError({ status, code, message, requestId })
    case 429:
      return new RateLimitError({
        status,
        code,
        message,
        requestId,
        retryAfter: retryAfterSeconds(headers["retry-after"], nowMillis)
      })
    default:
      return new KeysError({ status, code, message, requestId })
  }
}

const defaultCode = (status: number): string => {
  switch (status) {
    case 400:
      return "validation_error"
    case 401:
      return "invalid_api_key"
    case 403:
      return "insufficient_scope"
    case 404:
      return "not_found"
    case 413:
      return "payload_too_large"
    case 429:
      return "rate_limited"
    case 503:
      return "service_unavailable"
    default:
      return status >= 500 ? "internal_error" : "unexpected_response"
  }
}

const readAnswer = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<ClientError> =>
  response.text.pipe(
    Effect.orElseSucceed(() => ""),
    Effect.flatMap((text) =>
      Effect.map(
        Effect.clockWith((clock) => clock.currentTimeMillis),
        (now) => fromAnswer(response.status, text, response.headers, now)
      )
    )
  )

/** No answer arrived (refused connection, DNS, reset) or the request could not be built. */
const fromRequestError = (error: HttpClientError.RequestError, baseUrl: string): KeysError =>
  new KeysError({
    status: 0,
    code: "network_error",
    message: `Could not reach the keys API at ${baseUrl}${
      error.reason === "Transport" ? "" : ` (${error.reason})`
    }: ${describe(error.cause) ?? error.description ?? "no answer"}.`,
    requestId: undefined
  })

const describe = (cause: unknown): string | undefined => {
  if (!(cause instanceof Error)) return undefined
  const inner = (cause as { cause?: unknown }).cause
  const detail = inner instanceof Error ? inner.message : undefined
  return Redaction.redactSecrets(detail === undefined ? cause.message : `${cause.message} (${detail})`)
}

/** The client error for any failure of a derived client call. */
export const toClientError = (error: unknown, baseUrl: string): Effect.Effect<ClientError> => {
  if (isClientError(error)) return Effect.succeed(error)
  if (HttpClientError.isHttpClientError(error)) {
    if (error._tag === "RequestError") return Effect.succeed(fromRequestError(error, baseUrl))
    if (error.reason === "StatusCode") return readAnswer(error.response)
    return Effect.succeed(unexpected(error.response.status, error.response.headers["x-request-id"]))
  }
  if (error instanceof UnreadableAnswer) return Effect.succeed(unexpected(200, undefined))
  if (ParseResult.isParseError(error)) {
    // Only inputs are encoded before sending: the request was refused here, as the API would have.
    const invalid = Errors.invalidInputFromParseError(error)
    return Effect.succeed(
      new ValidationError({
        status: 400,
        code: "validation_error",
        message: invalid.message,
        field: invalid.field,
        requestId: undefined
      })
    )
  }
  return Effect.succeed(unexpected(0, undefined))
}

const unexpected = (status: number, requestId: string | undefined): KeysError =>
  new KeysError({
    status,
    code: "unexpected_response",
    message:
      "The keys API sent an answer this client cannot read; are client and server versions compatible?",
    requestId
  })
