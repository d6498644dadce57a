/**
 * The dashboard at `/dashboard` (contract section 10): the built single-page app from
 * `apps/dashboard/dist`, the session endpoints, and a proxy for the app's API calls.
 *
 *   GET    /dashboard/api/session        the current session, or 401
 *   POST   /dashboard/api/session        `{key}`: a root key in, an HttpOnly session cookie out
 *   DELETE /dashboard/api/session        sign out
 *   *      /dashboard/api/v1/…           the management endpoints, called with the session's root
 *                                        key added server-side as `Authorization: Bearer`
 *
 * The root key never goes back to the browser. Every `/dashboard/api/` request must carry the
 * `X-Keys-Dashboard: 1` header (a cross-site page cannot send a custom header without a CORS
 * preflight, which this server never grants), and a request whose `Origin` or `Sec-Fetch-Site`
 * says it comes from another site is refused; the cookie is also `SameSite=Strict`.
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { extname, resolve, sep } from "node:path"
import type { TLSSocket } from "node:tls"
import { fileURLToPath } from "node:url"
import { ApiKeys, KeysConfig, Redaction, Scope } from "@keys/core"
import { Effect, Exit, Redacted, Runtime } from "effect"
import * as Sessions from "./Sessions.js"

export const PREFIX = "/dashboard"
export const COOKIE = "keys_session"
export const CSRF_HEADER = "x-keys-dashboard"
const MAX_SIGN_IN_BYTES = 4 * 1024

/** Where `vite build` of apps/dashboard writes, relative to this file in the checkout. */
export const defaultAssetsDir = fileURLToPath(new URL("../../dashboard/dist", import.meta.url))

export interface Options {
  readonly assetsDir?: string
  readonly sessions?: Sessions.Options
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2"
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

const PAGE_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin"
}

/** Management calls the dashboard may make through its session; nothing else is forwarded. */
const PROXIED = [
  /^\/v1\/keys$/,
  /^\/v1\/keys\/(?!verify$)[^/]+$/,
  /^\/v1\/keys\/[^/]+\/roll$/,
  /^\/v1\/audit$/
]

const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {}
) => {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers
  })
  res.end(text)
}

const sendError = (res: ServerResponse, status: number, code: string, message: string, extra: object = {}) =>
  sendJson(res, status, { code, message, ...extra })

const cookieOf = (req: IncomingMessage): string => {
  const header = req.headers.cookie
  if (header === undefined) return ""
  for (const part of header.split(";")) {
    const index = part.indexOf("=")
    if (index !== -1 && part.slice(0, index).trim() === COOKIE) return part.slice(index + 1).trim()
  }
  return ""
}

const isHttps = (req: IncomingMessage): boolean =>
  (req.socket as TLSSocket).encrypted === true || req.headers["x-forwarded-proto"] === "https"

const sessionCookie = (req: IncomingMessage, value: string, maxAgeSeconds: number): string =>
  [
    `${COOKIE}=${value}`,
    `Path=${PREFIX}`,
    `Max-Age=${maxAgeSeconds}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(isHttps(req) ? ["Secure"] : [])
  ].join("; ")

/**
 * The cross-site request checks: the custom header, then the browser's own word on where the
 * request comes from (`Sec-Fetch-Site`, `Origin`) when it gives one.
 */
const crossSiteReason = (req: IncomingMessage): string | undefined => {
  if (req.headers[CSRF_HEADER] !== "1") return `the ${CSRF_HEADER} header is missing`
  const site = req.headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return "the request comes from another site"
  const origin = req.headers.origin
  if (origin !== undefined && origin !== "null") {
    let host: string
    try {
      host = new URL(origin).host
    } catch {
      return "the Origin header is malformed"
    }
    const forwarded = req.headers["x-forwarded-host"]
    if (host !== req.headers.host && host !== forwarded) return "the request comes from another origin"
  } else if (origin === "null") {
    return "the request comes from an opaque origin"
  }
  return undefined
}

const readBody = (req: IncomingMessage, limit: number): Promise<string | undefined> =>
  new Promise((resolveBody, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.pause()
        resolveBody(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

/**
 * The `/dashboard` handler, to call before the HttpApi app: answers and returns true for every
 * path under `/dashboard`, returns false for any other. `apiHandler` is the server's own handler
 * of the HttpApi app; proxied calls go to it with the session's key.
 */
export const make = (apiHandler: NodeHandler, options: Options = {}) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys.ApiKeys
    const settings = yield* KeysConfig.KeysConfig
    const runtime = yield* Effect.runtime<never>()
    const sessions = Sessions.make(options.sessions)
    const assetsDir = resolve(options.assetsDir ?? defaultAssetsDir)
    const scopeCatalogue = settings.scopeCatalogue === null ? null : [...settings.scopeCatalogue].sort()

    const describe = (session: Sessions.Session) => ({
      teamId: session.teamId,
      keyId: session.keyId,
      keyName: session.keyName,
      scopes: session.scopes,
      expiresAt: new Date(session.expiresAt).toISOString(),
      scopeCatalogue
    })

    const signIn = async (req: IncomingMessage, res: ServerResponse) => {
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
        return sendError(res, 415, "validation_error", 'body: send JSON ({"key": "sk_…"})', {
          field: "body"
        })
      }
      const text = await readBody(req, MAX_SIGN_IN_BYTES)
      if (text === undefined)
        return sendError(res, 413, "payload_too_large", "The request body is too large.")
      let token: unknown
      try {
        token = (JSON.parse(text) as { key?: unknown } | null)?.key
      } catch {
        return sendError(res, 400, "validation_error", "body: not valid JSON", { field: "body" })
      }
      if (typeof token !== "string" || token.trim().length === 0) {
        return sendError(res, 400, "validation_error", "key: enter a root key", { field: "key" })
      }
      const exit = await Runtime.runPromiseExit(runtime)(
        keys.verify(Redacted.make(token.trim()), { scopes: [Scope.KEYS_READ] })
      )
      if (Exit.isFailure(exit)) {
        return sendError(
          res,
          503,
          "service_unavailable",
          "The key store is not answering; try again shortly."
        )
      }
      const result = exit.value
      if (!result.valid || result.key === undefined) {
        switch (result.code) {
          case "key_expired":
            return sendError(
              res,
              401,
              "key_expired",
              "That key has expired. Sign in with an active root key."
            )
          case "insufficient_scope":
            return sendError(
              res,
              403,
              "insufficient_scope",
              "That key cannot manage keys: sign in with a root key (scopes keys:read and keys:write).",
              { requiredScopes: result.requiredScopes ?? [Scope.KEYS_READ] }
            )
          default:
            return sendError(
              res,
              401,
              "invalid_api_key",
              "That key is not valid: it is mistyped, unknown or revoked."
            )
        }
      }
      const previous = cookieOf(req)
      if (previous.length > 0) sessions.end(previous)
      const record = result.key
      const { token: sessionToken, session } = sessions.create({
        rootKey: Redacted.make(token.trim()),
        keyId: record.id,
        keyName: record.name,
        teamId: record.teamId,
        scopes: record.scopes,
        keyExpiresAt: record.expiresAt?.getTime() ?? null
      })
      const maxAge = Math.max(0, Math.floor((session.expiresAt - session.createdAt) / 1000))
      sendJson(res, 200, describe(session), { "set-cookie": sessionCookie(req, sessionToken, maxAge) })
    }

    const proxy = (req: IncomingMessage, res: ServerResponse, path: string, token: string) => {
      const session = sessions.get(token)
      if (session === undefined) {
        return sendError(res, 401, "invalid_session", "Your session has ended. Sign in again.")
      }
      const apiPath = path.slice(`${PREFIX}/api`.length)
      if (!PROXIED.some((pattern) => pattern.test(apiPath))) {
        return sendError(res, 404, "not_found", `No dashboard route ${req.method} ${path}`)
      }
      const url = req.url ?? ""
      const query = url.indexOf("?")
      req.url = query === -1 ? apiPath : `${apiPath}${url.slice(query)}`
      req.headers.authorization = `Bearer ${Redacted.value(session.rootKey)}`
      delete req.headers.cookie
      res.setHeader("cache-control", "no-store")
      // The root key no longer works (revoked, expired, scopes changed): the session goes with it.
      res.once("finish", () => {
        if (res.statusCode === 401) sessions.end(token)
      })
      apiHandler(req, res)
    }

    const api = (req: IncomingMessage, res: ServerResponse, path: string) => {
      const refused = crossSiteReason(req)
      if (refused !== undefined) {
        req.resume()
        return sendError(res, 403, "csrf_rejected", `Refused: ${refused}.`)
      }
      const method = req.method ?? "GET"
      if (path === `${PREFIX}/api/session`) {
        if (method === "POST") {
          signIn(req, res).catch((error: unknown) => {
            console.error(
              JSON.stringify({
                level: "ERROR",
                message: "dashboard sign-in defect",
                cause: Redaction.redactSecrets(String(error))
              })
            )
            if (!res.headersSent) sendError(res, 500, "internal_error", "Something went wrong on our side.")
          })
          return
        }
        req.resume()
        const token = cookieOf(req)
        if (method === "GET") {
          const session = token.length === 0 ? undefined : sessions.get(token)
          if (session === undefined) return sendError(res, 401, "invalid_session", "Sign in with a root key.")
          return sendJson(res, 200, describe(session))
        }
        if (method === "DELETE") {
          if (token.length > 0) sessions.end(token)
          res.writeHead(204, { "set-cookie": sessionCookie(req, "", 0), "cache-control": "no-store" })
          return res.end()
        }
        return sendError(res, 405, "method_not_allowed", `${method} is not allowed here.`)
      }
      if (path.startsWith(`${PREFIX}/api/v1/`)) return proxy(req, res, path, cookieOf(req))
      req.resume()
      sendError(res, 404, "not_found", `No dashboard route ${method} ${path}`)
    }

    // Hashed build assets never change under their name: read each once.
    const assets = new Map<string, Buffer>()
    const sendFile = (req: IncomingMessage, res: ServerResponse, file: string, cacheControl: string) => {
      const immutable = cacheControl.includes("immutable")
      const body = (immutable ? assets.get(file) : undefined) ?? readFileSync(file)
      if (immutable && assets.size < 1_000) assets.set(file, body)
      res.writeHead(200, {
        "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": body.length,
        "cache-control": cacheControl,
        ...PAGE_HEADERS
      })
      res.end(req.method === "HEAD" ? undefined : body)
    }

    const page = (req: IncomingMessage, res: ServerResponse, path: string) => {
      req.resume()
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD")
        return sendError(res, 405, "method_not_allowed", `${req.method} is not allowed here.`)
      }
      const index = resolve(assetsDir, "index.html")
      if (!existsSync(index)) {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
        return res.end(
          "The dashboard is not built. `pnpm start` builds it; or run `pnpm --filter @keys/dashboard build`.\n"
        )
      }
      let relative: string
      try {
        relative = decodeURIComponent(path.slice(PREFIX.length))
      } catch {
        return sendError(res, 400, "validation_error", "path: malformed escape")
      }
      if (relative.length > 1 && !relative.includes("\u0000")) {
        const file = resolve(assetsDir, `.${relative}`)
        if (file.startsWith(assetsDir + sep) && existsSync(file) && statSync(file).isFile()) {
          const immutable = relative.startsWith("/assets/")
          return sendFile(req, res, file, immutable ? "public, max-age=31536000, immutable" : "no-cache")
        }
        // A missing file is a 404; any other path is a page of the app.
        if (extname(relative) !== "") return sendError(res, 404, "not_found", `No file ${path}`)
      }
      sendFile(req, res, index, "no-cache")
    }

    return (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return false
      if (path.startsWith(`${PREFIX}/api/`)) api(req, res, path)
      else page(req, res, path)
      return true
    }
  })
