/**
 * nginx `auth_request` in front of a static backend, asking the keys API's `GET /v1/auth`: runs
 * when nginx is installed (`.ci/run` installs it), on loopback only.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as App from "@keys/api/src/App.js"
import * as Http from "@keys/api/src/Http.js"
import { ApiKeys, KeysConfig, RootKeys } from "@keys/core"
import { PgStore } from "@keys/postgres"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { TestDatabase } from "@keys/postgres/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { render } from "../src/render.js"

const hasNginx = (() => {
  try {
    execFileSync("nginx", ["-v"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const { admin } = TestDatabase
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

describe.skipIf(!hasNginx)("nginx forward-auth against GET /v1/auth", () => {
  const database = `keys_fwd_${randomBytes(3).toString("hex")}`
  let scope: Scope.CloseableScope
  let nginx: ChildProcess
  let work: string
  let base: string
  let keys: ApiKeys.ApiKeys["Type"]

  beforeAll(async () => {
    await admin(`create database ${database}`)
    scope = Effect.runSync(Scope.make())
    const api = App.make(
      PgStore.layer({ url: Redacted.make(`postgres://postgres@127.0.0.1:5432/${database}`) }),
      KeysConfig.layer(),
      { port: 0, host: "127.0.0.1" }
    )
    const context = await Effect.runPromise(Layer.buildWithScope(api, scope))
    keys = Context.get(context, ApiKeys.ApiKeys)
    const server = Context.get(context, Http.ApiServer)
    work = mkdtempSync(join(tmpdir(), "keys-nginx-"))
    chmodSync(work, 0o755)
    const port = await freePort()
    const config = render({ prefix: join(work, "nginx"), nginxPort: port, keysUrl: server.url })
    nginx = spawn("nginx", ["-c", config], { stdio: "ignore" })
    base = `http://127.0.0.1:${port}`
    const until = Date.now() + 10_000
    while (Date.now() < until) {
      if (
        await fetch(base).then(
          () => true,
          () => false
        )
      )
        break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }, 60_000)

  afterAll(async () => {
    nginx?.kill("SIGQUIT")
    await new Promise((resolve) => setTimeout(resolve, 300))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(work, { recursive: true, force: true })
    await admin(`drop database if exists ${database} with (force)`)
  })

  const secretOf = async (input: { name: string; scopes?: Array<string> }) =>
    Redacted.value((await Effect.runPromise(keys.create({ teamId: "default", ...input }))).secret)
  const get = (key?: string) =>
    fetch(`${base}/`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })

  it("serves the backend to a key with the required scope, and passes its identity on", async () => {
    const reader = await secretOf({ name: "reader", scopes: ["read"] })
    const response = await get(reader)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain("Protected static content")
    expect(response.headers.get("x-team-id")).toBe("default")
    expect(response.headers.get("x-key-environment")).toBe("live")
    expect(response.headers.get("x-key-id")).toMatch(/^key_/)
    expect((await get(await secretOf({ name: "full" }))).status).toBe(200)
  })

  it("refuses missing, unknown and revoked keys with 401, and keys without the scope with 403", async () => {
    expect((await get()).status).toBe(401)
    expect((await get(`sk_live_${"A".repeat(48)}`)).status).toBe(401)
    const sender = await secretOf({ name: "sender", scopes: ["send"] })
    const forbidden = await get(sender)
    expect(forbidden.status).toBe(403)
    expect(await forbidden.json()).toMatchObject({ code: "insufficient_scope" })
    const created = await Effect.runPromise(
      keys.create({ teamId: "default", name: "doomed", scopes: ["read"] })
    )
    expect((await get(Redacted.value(created.secret))).status).toBe(200)
    await Effect.runPromise(keys.revoke("default", created.key.id))
    expect((await get(Redacted.value(created.secret))).status).toBe(401)
  })

  it("mints root keys for operators the same way", async () => {
    const root = await Effect.runPromise(
      Effect.provideService(
        RootKeys.create({ teamId: "default", name: "ops", admin: false }),
        ApiKeys.ApiKeys,
        keys
      )
    )
    expect((await get(Redacted.value(root.secret))).status).toBe(403)
  })
})
