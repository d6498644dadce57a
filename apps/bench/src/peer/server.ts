/**
 * The peer over HTTP: Better Auth mounted as its Node guide shows (`toNodeHandler(auth)` under
 * /api/auth on node:http), plus `GET /v1/auth` answering 200/401 from `auth.api.verifyApiKey` on the
 * bearer key — its documented way to guard a route, since the verify endpoint is server-only. The
 * same shape as our `GET /v1/auth`. Statements it sends are counted at its pg pool
 * (`GET /__bench/statements`). Env: PEER_DATABASE_URL, PORT.
 */
import { createServer } from "node:http"
import { toNodeHandler } from "better-auth/node"
import { countingPool } from "../lib/Database.js"
import * as BetterAuth from "./BetterAuth.js"

const { counter, pool } = countingPool(process.env.PEER_DATABASE_URL!, 10)
const { auth } = BetterAuth.make(pool)
const verify = BetterAuth.verifier(auth)
const handler = toNodeHandler(auth)

const server = createServer((req, res) => {
  const url = req.url ?? "/"
  if (url === "/healthz") return res.writeHead(200, { "content-length": "0" }).end()
  if (url === "/__bench/statements") {
    const body = JSON.stringify({ statements: counter.statements })
    return res.writeHead(200, { "content-type": "application/json" }).end(body)
  }
  if (url.startsWith("/v1/auth")) {
    req.resume()
    const header = req.headers.authorization ?? ""
    const key = header.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : ""
    verify(key).then(
      (valid) => res.writeHead(valid ? 200 : 401, { "content-length": "0" }).end(),
      () => res.writeHead(500, { "content-length": "0" }).end()
    )
    return
  }
  void handler(req, res)
})
server.keepAliveTimeout = 5_000
server.listen(Number(process.env.PORT), "127.0.0.1")
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close()
    server.closeAllConnections()
    void pool.end().finally(() => process.exit(0))
  })
}
