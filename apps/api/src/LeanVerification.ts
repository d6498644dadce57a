/**
 * The verification endpoints served ahead of the HttpApi pipeline: `POST /v1/keys/verify` and
 * `GET /v1/auth` run the very same core verification (`ApiKeys.verifyCached`, falling back to
 * `ApiKeys.verify` on a cache miss) and answer the same error contract, without per-request
 * fibers, spans or schema-driven routing. When the cache answers, a request is handled
 * synchronously once its body has arrived.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { type ApiKeys, Errors, Scope, type Verification } from "@keys/core"
import { ApiErrors, KeysApi, RequestBody } from "@keys/http"
import { Effect, Either, Redacted, type Runtime, Runtime as RuntimeModule, Schema } from "effect"
import * as Bodies from "./Bodies.js"
import { sendError, sendJson } from "./Responses.js"
import { optionsFor, quickVerifyRequest, responseBodyOf, type VerifyRequest } from "./Verify.js"

export const MAX_BODY_BYTES = RequestBody.MAX_BYTES
const VERIFY_SCOPE = { scopes: [Scope.KEYS_VERIFY] }
const decodeVerifyRequest = Schema.decodeUnknownEither(KeysApi.VerifyRequest)

/** The bearer token of a request, "" when there is none. */
export const bearerOf = (req: IncomingMessage): string => {
  const header = req.headers.authorization
  if (header === undefined || header.length < 7) return ""
  if (header.slice(0, 7).toLowerCase() !== "bearer ") return ""
  return header.slice(7).trim()
}

const sendVerificationError = (res: ServerResponse, result: Verification.Verification): void => {
  const error = ApiErrors.fromVerification(result)!
  sendError(
    res,
    error.code,
    error.message,
    error._tag === "InsufficientScope" ? { requiredScopes: error.requiredScopes } : undefined
  )
}

export interface LeanVerification {
  /** Handles the request when it is one of the verification endpoints; answers whether it did. */
  readonly handle: (req: IncomingMessage, res: ServerResponse, path: string, query: string) => boolean
}

export const make = (
  keys: ApiKeys.ApiKeys["Type"],
  runtime: Runtime.Runtime<never>,
  onDefect: (error: unknown) => void
): LeanVerification => {
  const runPromise = RuntimeModule.runPromise(runtime)

  /** The verification, synchronously when the cache answers, else through the store. */
  const verify = (
    token: string,
    options: Verification.VerifyOptions,
    res: ServerResponse,
    then: (result: Verification.Verification) => void
  ): void => {
    const cached = keys.verifyCached(token, options)
    if (cached !== undefined) return then(cached)
    runPromise(Effect.either(keys.verify(Redacted.make(token), options))).then(
      (outcome) =>
        Either.match(outcome, {
          onLeft: () => sendError(res, "service_unavailable", ApiErrors.messages.unavailable),
          onRight: then
        }),
      (defect) => {
        onDefect(defect)
        if (!res.headersSent) sendError(res, "internal_error", ApiErrors.messages.internal)
      }
    )
  }

  const handleVerify = (req: IncomingMessage, res: ServerResponse): void => {
    const rootToken = bearerOf(req)
    if (rootToken === "") {
      req.resume()
      return sendError(res, "missing_api_key", ApiErrors.messages.missing)
    }
    verify(rootToken, VERIFY_SCOPE, res, (root) => {
      if (!root.valid || root.key === undefined) {
        req.resume()
        return sendVerificationError(res, root)
      }
      Bodies.read(
        req,
        res,
        ({ value }) => {
          let request: VerifyRequest | undefined = quickVerifyRequest(value)
          if (request === undefined) {
            const decoded = decodeVerifyRequest(value)
            if (Either.isLeft(decoded)) {
              const invalid = ApiErrors.fromInvalidInput(Errors.invalidInputFromParseError(decoded.left))
              return sendError(res, "validation_error", invalid.message, { field: invalid.field })
            }
            request = decoded.right
          }
          verify(request.key, optionsFor(root.key!, request), res, (result) =>
            sendJson(res, 200, responseBodyOf(result))
          )
        },
        { anyType: true }
      )
    })
  }

  const handleAuth = (req: IncomingMessage, res: ServerResponse, query: string): void => {
    req.resume()
    const token = bearerOf(req)
    if (token === "") return sendError(res, "missing_api_key", ApiErrors.messages.missing)
    const params = new URLSearchParams(query)
    const scopesText = params.get("scopes")
    const scopes =
      scopesText === null || scopesText === ""
        ? undefined
        : scopesText.split(",").map((scope) => scope.trim())
    const invalidScope = scopes?.find((scope) => !Scope.isValid(scope))
    if (invalidScope !== undefined || (scopes?.length ?? 0) > Scope.MAX_PER_KEY) {
      return sendError(res, "validation_error", "scopes: a comma-separated list of valid scopes", {
        field: "scopes"
      })
    }
    const resource = params.get("resource") ?? undefined
    if (resource !== undefined && (resource.length === 0 || resource.length > 253)) {
      return sendError(res, "validation_error", "resource: must be 1 to 253 characters", {
        field: "resource"
      })
    }
    verify(token, { scopes, resource }, res, (result) => {
      if (!result.valid || result.key === undefined) return sendVerificationError(res, result)
      res.writeHead(200, {
        "x-key-id": result.key.id,
        "x-team-id": result.key.teamId,
        "x-key-environment": result.key.environment,
        // `*`: an unscoped key, which holds every product scope.
        "x-key-scopes": result.key.scopes === null ? "*" : result.key.scopes.join(","),
        "content-length": "0"
      })
      res.end()
    })
  }

  return {
    handle: (req, res, path, query) => {
      if ((path === "/v1/keys/verify" || path === "/v1/keys/verify/") && req.method === "POST") {
        handleVerify(req, res)
        return true
      }
      // The HttpApi router ignores a trailing slash too: both spellings must land here.
      if ((path === "/v1/auth" || path === "/v1/auth/") && (req.method === "GET" || req.method === "HEAD")) {
        handleAuth(req, res, query)
        return true
      }
      return false
    }
  }
}
