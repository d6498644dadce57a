/**
 * The HTTP server: one `node:http` listener. The verification endpoints go to the lean path; every
 * other request goes to the HttpApi app, behind a middleware that keeps the error contract
 * (`{code, message}` for bad input, unknown routes and defects) and logs management calls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import {
  HttpApiBuilder,
  HttpApp,
  HttpApiScalar,
  HttpMiddleware,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ApiKeys, Redaction } from "@keys/core"
import { ApiErrors, KeyAuth, KeysApi } from "@keys/http"
import { Context, Effect, Layer } from "effect"
import { ApiMetrics } from "./ApiMetrics.js"
import * as Dashboard from "./Dashboard.js"
import { AuditLive } from "./handlers/Audit.js"
import { KeysLive } from "./handlers/Keys.js"
import { SystemLive } from "./handlers/System.js"
import { VerificationLive } from "./handlers/Verification.js"
import * as Bodies from "./Bodies.js"
import * as LeanVerification from "./LeanVerification.js"
import { routeOf } from "./Metrics.js"
import { sendError } from "./Responses.js"

const BODILESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS"])

export class ApiServer extends Context.Tag("@keys/api/ApiServer")<
  ApiServer,
  { readonly port: number; readonly host: string; readonly url: string }
>() {}

export interface ListenOptions {
  readonly port: number
  readonly host: string
}

/** The HttpApi implementation with OpenAPI at /openapi.json and its rendering at /docs. */
export const ApiLive = HttpApiBuilder.api(KeysApi.KeysApi).pipe(
  Layer.provide([KeysLive, VerificationLive, AuditLive, SystemLive]),
  Layer.provide(KeyAuth.layer),
  Layer.provide(KeyAuth.layerInProcess)
)

const DocsLive = Layer.mergeAll(
  HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
  HttpApiScalar.layer({ path: "/docs" })
)

const decodeErrorMessage = (issues: unknown): { field: string; message: string } => {
  const first = Array.isArray(issues)
    ? (issues[0] as { path?: Array<unknown>; message?: string } | undefined)
    : undefined
  const field = first?.path?.map(String).join(".") || "body"
  return { field, message: `${field}: ${Redaction.redactSecrets(first?.message ?? "is invalid")}` }
}

const notFound = (request: HttpServerRequest.HttpServerRequest) =>
  HttpServerResponse.unsafeJson(
    {
      code: "not_found",
      message: `No route ${request.method} ${Redaction.redactSecrets(request.url.split("?")[0] ?? "")}`
    },
    { status: 404 }
  )

/**
 * Rewrites the framework's own error answers (request decoding, unknown routes, defects) into the
 * contract's `{code, message}` bodies, just before a response is sent.
 */
const contractResponses: HttpApp.PreResponseHandler = (request, response) =>
  Effect.sync(() => {
    if (response.status === 404 && response.body._tag === "Empty") return notFound(request)
    if (response.status === 500 && response.body._tag === "Empty") {
      return HttpServerResponse.unsafeJson(
        { code: "internal_error", message: ApiErrors.messages.internal },
        { status: 500 }
      )
    }
    if (response.status === 400 && response.body._tag === "Uint8Array") {
      let parsed: { _tag?: string; issues?: unknown } | undefined
      try {
        parsed = JSON.parse(new TextDecoder().decode(response.body.body))
      } catch {
        parsed = undefined
      }
      if (parsed?._tag === "HttpApiDecodeError") {
        const { field, message } = decodeErrorMessage(parsed.issues)
        return HttpServerResponse.unsafeJson({ code: "validation_error", message, field }, { status: 400 })
      }
    }
    if (response.status === 413 || (response.status === 400 && response.body._tag === "Empty")) {
      return HttpServerResponse.unsafeJson(
        response.status === 413
          ? {
              code: "payload_too_large",
              message: `The request body is over ${LeanVerification.MAX_BODY_BYTES} bytes.`
            }
          : { code: "validation_error", message: "body: could not be read", field: "body" },
        { status: response.status }
      )
    }
    return response
  })

/**
 * Installs the contract's error answers for the whole request (the framework turns failures into
 * responses outside the app, so a wrapper on the app alone would miss them), and logs every
 * management request with its id and outcome; never headers or bodies.
 */
const contractAndAccessLog = HttpMiddleware.make((app) =>
  Effect.gen(function* () {
    yield* HttpApp.appendPreResponseHandler(contractResponses)
    const request = yield* HttpServerRequest.HttpServerRequest
    const started = performance.now()
    const response = yield* Effect.onExit(app, (exit) =>
      Effect.logInfo("request").pipe(
        Effect.annotateLogs({
          requestId: request.headers["x-request-id"] ?? "",
          method: request.method,
          path: Redaction.redactSecrets(request.url.split("?")[0] ?? ""),
          status: exit._tag === "Success" ? exit.value.status : "failed",
          ms: Math.round((performance.now() - started) * 10) / 10
        })
      )
    )
    return response
  })
)

let requestCounter = 0
const processTag = Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .padStart(4, "0")
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/
const requestIdOf = (req: IncomingMessage): string => {
  const incoming = req.headers["x-request-id"]
  if (typeof incoming === "string" && REQUEST_ID.test(incoming) && !Redaction.containsSecretLike(incoming))
    return incoming
  requestCounter = (requestCounter + 1) % 2 ** 40
  return `req_${processTag}${requestCounter.toString(36)}`
}

/** Starts the server; closing the scope stops accepting, lets in-flight requests finish, then returns. */
export const layer = (options: ListenOptions) =>
  Layer.scoped(
    ApiServer,
    Effect.gen(function* () {
      const keys = yield* ApiKeys.ApiKeys
      const metrics = yield* ApiMetrics
      const runtime = yield* Effect.runtime<never>()
      const effectHandler = yield* NodeHttpServer.makeHandler(
        yield* HttpApiBuilder.httpApp,
        contractAndAccessLog
      )
      // Bodies are read and vetted once (`Bodies`), then replayed to the HttpApi app.
      const handleEffect = (req: IncomingMessage, res: ServerResponse): void => {
        if (BODILESS.has(req.method ?? "GET")) return effectHandler(req, res)
        Bodies.read(req, res, ({ bytes }) => effectHandler(Bodies.replay(req, bytes), res))
      }
      const dashboard = yield* Dashboard.make(handleEffect)
      const lean = LeanVerification.make(keys, runtime, (defect) => {
        console.error(
          JSON.stringify({
            level: "ERROR",
            message: "verification defect",
            cause: Redaction.redactSecrets(String(defect))
          })
        )
      })

      const listener = (req: IncomingMessage, res: ServerResponse): void => {
        const started = performance.now()
        const url = req.url ?? "/"
        const mark = url.indexOf("?")
        const path = mark === -1 ? url : url.slice(0, mark)
        const method = req.method ?? "GET"
        const requestId = requestIdOf(req)
        res.setHeader("x-request-id", requestId)
        res.on("finish", () =>
          metrics.observe(method, routeOf(method, path), res.statusCode, (performance.now() - started) / 1000)
        )
        const length = Number(req.headers["content-length"] ?? 0)
        if (length > LeanVerification.MAX_BODY_BYTES) {
          res.setHeader("connection", "close")
          req.resume()
          return sendError(
            res,
            "payload_too_large",
            `The request body is over ${LeanVerification.MAX_BODY_BYTES} bytes.`
          )
        }
        if (lean.handle(req, res, path, mark === -1 ? "" : url.slice(mark + 1))) return
        req.headers["x-request-id"] = requestId
        if (dashboard(req, res, path)) return
        handleEffect(req, res)
      }

      const server: Server = createServer({ maxHeaderSize: 16 * 1024, keepAliveTimeout: 5_000 }, listener)
      server.on("clientError", (_error, socket) => {
        if (socket.writable)
          socket.end(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" +
              ApiErrors.body("validation_error", "malformed HTTP request")
          )
      })
      yield* Effect.async<void, Error>((resume) => {
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(options.port, options.host, () => resume(Effect.void))
      }).pipe(Effect.orDie)
      yield* Effect.addFinalizer(() =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeIdleConnections()
          // In-flight requests get a bounded time to finish; then connections are cut.
          const timer = setTimeout(() => server.closeAllConnections(), 10_000)
          timer.unref()
        })
      )
      const address = server.address() as AddressInfo
      const host = address.address.includes(":") ? `[${address.address}]` : address.address
      return { port: address.port, host: address.address, url: `http://${host}:${address.port}` }
    })
  ).pipe(
    Layer.provide(
      DocsLive.pipe(
        Layer.provideMerge(ApiLive),
        Layer.provideMerge(Layer.mergeAll(HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer))
      )
    ),
    Layer.provide(NodeHttpServer.layerContext)
  )
