/**
 * The embedded default (contract section 5: no DATABASE_URL, PGlite under KEYS_DATA_DIR): the API
 * starts on an empty data directory, prints a root key for team `default` once, serves, and after a
 * stop and a start on the same directory still knows every key.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { PgStore } from "@keys/postgres"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import {
  createKey,
  expectOk,
  KEY_PATTERN,
  type RunningApi,
  request,
  startApi,
  verify,
  waitFor
} from "./helpers.js"

/** PGlite initialises a new directory in seconds, not milliseconds. */
const TIMEOUT = 120_000

let root: string
let dataDir: string
const running: Array<RunningApi> = []

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "keys-api-embedded-"))
  dataDir = path.join(root, ".keys")
})

afterAll(async () => {
  for (const api of running) await api.close()
  fs.rmSync(root, { recursive: true, force: true })
}, TIMEOUT)

/** Starts the API on the embedded database, answering it and what it wrote to stdout meanwhile. */
const startEmbedded = async (): Promise<{ api: RunningApi; printed: string }> => {
  let printed = ""
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    printed += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")
    return true
  })
  try {
    const api = await startApi(PgStore.layerEmbedded({ dataDir }))
    running.push(api)
    return { api, printed }
  } finally {
    spy.mockRestore()
  }
}

describe("embedded PGlite", { timeout: TIMEOUT }, () => {
  it("first start prints a root key once; keys survive a stop and a start on the same directory", async () => {
    // --- first start: an empty directory --------------------------------------------------------
    const first = await startEmbedded()
    expect(fs.existsSync(dataDir)).toBe(true)
    const printedKeys = first.printed.match(/sk_(live|test)_[0-9A-Za-z]{48}/g) ?? []
    expect(printedKeys.length).toBeGreaterThan(0)
    const rootKey = printedKeys[0]!
    expect(rootKey).toMatch(KEY_PATTERN)
    expect(first.printed).toContain('team "default"')
    expect(first.printed).toContain(first.api.url)

    expectOk(await request(first.api, "GET", "/readyz"))
    const listed = await request(first.api, "GET", "/v1/keys", { key: rootKey })
    expectOk(listed)
    expect(listed.json.data).toHaveLength(1)
    expect(listed.json.data[0]).toMatchObject({
      teamId: "default",
      scopes: ["keys:read", "keys:write", "keys:verify"],
      status: "active"
    })

    const kept = await createKey(first.api, rootKey, {
      name: "survives restarts 🔑",
      scopes: ["emails:send"],
      metadata: { plan: "pro" }
    })
    const dropped = await createKey(first.api, rootKey, { name: "revoked before the restart" })
    expectOk(await request(first.api, "DELETE", `/v1/keys/${dropped.id}`, { key: rootKey }))
    expect((await verify(first.api, rootKey, { key: kept.key, scopes: ["emails:send"] })).json.valid).toBe(
      true
    )
    // Usage is flushed to the store (and once more when the scope closes).
    await waitFor(
      "lastUsedAt",
      async () => {
        const reply = await request(first.api, "GET", `/v1/keys/${kept.id}`, { key: rootKey })
        return reply.json.lastUsedAt ?? undefined
      },
      { timeoutMillis: 5_000, intervalMillis: 100 }
    )
    await first.api.close()
    await expect(request(first.api, "GET", "/healthz")).rejects.toThrow()

    // --- second start: the same directory --------------------------------------------------------
    const second = await startEmbedded()
    // Not an empty database any more: no new root key is printed.
    expect(second.printed).not.toMatch(/sk_(live|test)_[0-9A-Za-z]{48}/)
    const verified = await verify(second.api, rootKey, { key: kept.key, scopes: ["emails:send"] })
    expectOk(verified)
    expect(verified.json).toMatchObject({ valid: true, code: "valid" })
    expect(verified.json.key).toMatchObject({
      id: kept.id,
      name: "survives restarts 🔑",
      metadata: { plan: "pro" }
    })
    expect(verified.json.key.lastUsedAt).not.toBeNull()
    expect((await verify(second.api, rootKey, { key: dropped.key })).json.code).toBe("invalid_api_key")
    const auth = await request(second.api, "GET", "/v1/auth", { key: kept.key })
    expect(auth.status).toBe(200)
    expect(auth.headers.get("x-key-id")).toBe(kept.id)
    const all = await request(second.api, "GET", "/v1/keys", { key: rootKey })
    expect(all.json.data).toHaveLength(3)
    const audit = await request(second.api, "GET", "/v1/audit", { key: rootKey })
    expect(audit.json.data.map((event: { action: string }) => event.action)).toEqual([
      "key.revoked",
      "key.created",
      "key.created",
      "key.created"
    ])
    // It still writes: a new key on the reopened directory works at once.
    const later = await createKey(second.api, rootKey, { name: "after the restart" })
    expect((await verify(second.api, rootKey, { key: later.key })).json.valid).toBe(true)
  })
})
