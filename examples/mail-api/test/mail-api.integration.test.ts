/**
 * The mail API under each documented key style (sendkit, senderkit, send0), in both verification
 * modes: a real keys API runs as its own process on a fresh database; the mail API verifies in
 * process against that database, and remotely against that API. Both modes must answer the same.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { TestDatabase } from "@keys/postgres/testing"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Server from "../src/Server.js"

const API_MAIN = fileURLToPath(new URL("../../../apps/api/src/main.ts", import.meta.url))

const { admin } = TestDatabase

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

interface KeysApi {
  readonly url: string
  readonly root: string
  readonly child: ChildProcess
}

const startKeysApi = (databaseUrl: string, format: string) =>
  freePort().then(
    (port) =>
      new Promise<KeysApi>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", API_MAIN], {
          env: {
            ...process.env,
            DATABASE_URL: databaseUrl,
            PORT: String(port),
            KEYS_KEY_FORMAT: format,
            KEYS_LOG_LEVEL: "Warning"
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        const timer = setTimeout(() => reject(new Error(`keys API did not start: ${output}`)), 60_000)
        child.stdout!.on("data", (chunk) => {
          output += chunk
          const root = /Bearer (sk_\w+)/.exec(output)?.[1]
          if (root !== undefined) {
            clearTimeout(timer)
            resolve({ url: `http://127.0.0.1:${port}`, root, child })
          }
        })
        child.stderr!.on("data", (chunk) => (output += chunk))
      })
  )

const call = async (base: string, method: string, path: string, key?: string, body?: unknown) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      "content-type": "application/json"
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined }
}

const createKey = async (api: KeysApi, input: Record<string, unknown>) => {
  const { status, body } = await call(api.url, "POST", "/v1/keys", api.root, input)
  if (status !== 201) throw new Error(`create failed: ${status} ${JSON.stringify(body)}`)
  return body as { id: string; key: string; environment: string }
}

/** Starts the mail API in a mode on a free port; returns its base URL. */
const startMail = async (scope: Scope.CloseableScope, mode: Server.Mode) => {
  const port = await freePort()
  await Effect.runPromise(Layer.buildWithScope(Server.layer(mode, port), scope))
  return `http://127.0.0.1:${port}`
}

const eventually = async (check: () => Promise<boolean>, millis = 2_000) => {
  const until = Date.now() + millis
  while (Date.now() < until) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return check()
}

for (const format of ["sendkit", "senderkit", "send0"] as const) {
  describe(`mail API with ${format} keys`, () => {
    const database = `keys_mail_${format}_${randomBytes(3).toString("hex")}`
    const databaseUrl = `postgres://postgres@127.0.0.1:5432/${database}`
    let api: KeysApi
    let scope: Scope.CloseableScope
    let modes: ReadonlyArray<readonly [string, string]>

    beforeAll(async () => {
      await admin(`create database ${database}`)
      api = await startKeysApi(databaseUrl, format)
      scope = Effect.runSync(Scope.make())
      const inProcess = await startMail(scope, {
        _tag: "InProcess",
        databaseUrl: Redacted.make(databaseUrl),
        settings: { keyFormat: (await import("@keys/core")).KeyFormat.presets[format]! }
      })
      const remote = await startMail(scope, {
        _tag: "Remote",
        keysApiUrl: api.url,
        rootKey: Redacted.make(api.root)
      })
      modes = [
        ["in-process", inProcess],
        ["remote", remote]
      ]
    }, 90_000)

    afterAll(async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      api.child.kill("SIGTERM")
      await new Promise((resolve) => setTimeout(resolve, 300))
      await admin(`drop database if exists ${database} with (force)`)
    })

    /** The same request in both modes: the answers must agree; returns the first. */
    const both = async (method: string, path: string, key?: string, body?: unknown) => {
      const answers = await Promise.all(modes.map(([, base]) => call(base, method, path, key, body)))
      const [first, second] = answers
      expect({ status: second!.status, code: second!.body?.code }).toEqual({
        status: first!.status,
        code: first!.body?.code
      })
      return first!
    }
    const message = (from: string) => ({ from, to: ["customer@example.net"], subject: "Hello" })

    it("mints the documented key shapes", async () => {
      const full = await createKey(api, { name: "Full access" })
      const scoped = await createKey(api, { name: "Send only", scopes: ["send"] })
      if (format === "sendkit") {
        expect(full.key).toMatch(/^sk_[0-9A-Za-z]{48}$/)
        expect(full.key).toHaveLength(51)
        const test = await call(api.url, "POST", "/v1/keys", api.root, { name: "t", environment: "test" })
        expect(test.status).toBe(400)
      } else {
        expect(full.key).toMatch(/^sk_live_[0-9A-Za-z]{48}$/)
        expect((await createKey(api, { name: "Test", environment: "test" })).key).toMatch(
          /^sk_test_[0-9A-Za-z]{48}$/
        )
      }
      expect(scoped.key).toMatch(
        format === "send0"
          ? /^sk_restr_[0-9A-Za-z]{48}$/
          : format === "sendkit"
            ? /^sk_[0-9A-Za-z]{48}$/
            : /^sk_live_/
      )
    })

    it("a send-only key sends and nothing else; a full-access key does everything", async () => {
      const sendOnly = await createKey(api, { name: "Send only", scopes: ["send"] })
      const full = await createKey(api, { name: "Full access" })
      expect((await both("POST", "/v1/send", sendOnly.key, message("hi@example.com"))).status).toBe(202)
      const denied = await both("GET", "/v1/messages", sendOnly.key)
      expect(denied).toMatchObject({
        status: 403,
        body: { code: "insufficient_scope", requiredScopes: ["read"] }
      })
      expect((await both("DELETE", "/v1/messages/msg_x", sendOnly.key)).body.code).toBe("insufficient_scope")
      expect(
        (
          await both("POST", "/v1/send-raw", full.key, {
            from: "a@example.com",
            to: ["b@example.net"],
            raw: "x"
          })
        ).status
      ).toBe(202)
      expect((await both("GET", "/v1/messages", full.key)).status).toBe(200)
      const context = await both("GET", "/v1/context", full.key)
      expect(context.body).toMatchObject({
        keyId: full.id,
        teamId: "default",
        environment: "live",
        scopes: null
      })
    })

    it("restricts sending to the key's domains", async () => {
      const domain = await createKey(api, {
        name: "example.com only",
        scopes: ["send"],
        resources: ["example.com"]
      })
      expect((await both("POST", "/v1/send", domain.key, message("news@example.com"))).status).toBe(202)
      const other = await both("POST", "/v1/send", domain.key, message("news@elsewhere.org"))
      expect(other).toMatchObject({ status: 403, body: { code: "resource_not_allowed" } })
    })

    it("refuses revoked and unknown keys with 401 invalid_api_key, at once", async () => {
      const doomed = await createKey(api, { name: "Doomed", scopes: ["send", "read"] })
      expect((await both("GET", "/v1/context", doomed.key)).status).toBe(200)
      expect((await call(api.url, "DELETE", `/v1/keys/${doomed.id}`, api.root)).status).toBe(200)
      for (const [, base] of modes) {
        // The in-process mode hears of the revocation through LISTEN/NOTIFY: allow it a moment.
        expect(
          await eventually(
            async () => (await call(base, "GET", "/v1/context", doomed.key)).status === 401,
            1_000
          )
        ).toBe(true)
      }
      expect((await both("GET", "/v1/context", doomed.key)).body.code).toBe("invalid_api_key")
      const forged = `${doomed.key.slice(0, -4)}AAAA`
      expect((await both("GET", "/v1/context", forged)).body.code).toBe("invalid_api_key")
      expect((await both("GET", "/v1/context")).body.code).toBe("missing_api_key")
    })

    it("expires keys with 401 key_expired while the keys API still lists them", async () => {
      const soon = await createKey(api, {
        name: "Contractor",
        scopes: ["read"],
        expiresAt: new Date(Date.now() + 1_500).toISOString()
      })
      expect((await both("GET", "/v1/context", soon.key)).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 1_600))
      expect(await both("GET", "/v1/context", soon.key)).toMatchObject({
        status: 401,
        body: { code: "key_expired" }
      })
      const listed = await call(api.url, "GET", "/v1/keys?status=expired", api.root)
      expect(listed.body.data.map((key: { id: string }) => key.id)).toContain(soon.id)
    })

    if (format === "senderkit") {
      it("surfaces 403 as PermissionError and 401 as AuthenticationError in the SDK", async () => {
        const { AuthenticationError, Keys, PermissionError } = await import("@keys/sdk")
        const sendOnly = await createKey(api, { name: "Send only", scopes: ["send"] })
        // The mail API and the keys API answer the one error contract; the SDK maps it to classes.
        expect((await both("GET", "/v1/messages", sendOnly.key)).body).toMatchObject({
          code: "insufficient_scope"
        })
        const permission = await new Keys({ apiKey: sendOnly.key, baseUrl: api.url, retries: 0 })
          .list()
          .catch((error) => error)
        expect(permission).toBeInstanceOf(PermissionError)
        expect(permission).toMatchObject({
          status: 403,
          code: "insufficient_scope",
          requiredScopes: ["keys:read"]
        })
        const unknown = `sk_live_${"A".repeat(48)}`
        expect((await both("GET", "/v1/messages", unknown)).status).toBe(401)
        const authentication = await new Keys({ apiKey: unknown, baseUrl: api.url, retries: 0 })
          .list()
          .catch((error) => error)
        expect(authentication).toBeInstanceOf(AuthenticationError)
        expect(authentication).toMatchObject({ status: 401, code: "invalid_api_key" })
      })
    }

    if (format !== "sendkit") {
      it("never delivers with a test key: the environment comes from the verified key", async () => {
        const test = await createKey(api, { name: "CI", environment: "test", scopes: ["send"] })
        const sent = await both("POST", "/v1/send", test.key, message("ci@example.com"))
        expect(sent.body.status).toBe("sandboxed")
        const live = await createKey(api, { name: "Prod", scopes: ["send"] })
        expect((await both("POST", "/v1/send", live.key, message("prod@example.com"))).body.status).toBe(
          "queued"
        )
      })
    }
  })
}
