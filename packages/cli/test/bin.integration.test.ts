/**
 * The real binary, as a child process (`node --import tsx src/bin.ts`): exit codes reach the shell,
 * usage problems are printed once, and the process ends on its own after answering.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningApi, startApi, uniqueTeam } from "./helpers.js"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the binary without blocking this process (the API under test runs in it); killed after 60 s. */
const keys = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const { KEYS_API_KEY: _key, KEYS_API_URL: _url, ...inherited } = process.env
    const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
      env: { ...inherited, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

let api: RunningApi
let env: Record<string, string>

beforeAll(async () => {
  api = await startApi()
  env = { KEYS_API_URL: api.url, KEYS_API_KEY: await api.rootKey(uniqueTeam("bin")) }
}, 60_000)

afterAll(() => api?.close(), 30_000)

describe("the keys binary", () => {
  it("creates, lists and verifies from the environment, exiting 0 (an unscoped key holds any scope)", async () => {
    const created = await keys(["create", "--name", "From the shell", "--json"], env)
    expect(created.code, created.stderr).toBe(0)
    const { id, key } = JSON.parse(created.stdout)
    const listed = await keys(["list", "--json"], env)
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).data.map((entry: { id: string }) => entry.id)).toContain(id)
    expect(listed.stdout).not.toContain(key)
    const verified = await keys(["verify", key, "--scopes", "anything"], env)
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toContain(`valid: key "From the shell" (${id})`)
  }, 120_000)

  it("prints a usage problem once and exits 2", async () => {
    const run = await keys(["create", "--name", "x", "--env", "prod"], env)
    expect(run.code).toBe(2)
    expect(run.stdout).toBe("")
    const mentions = run.stderr.match(/Expected one of the following cases: live, test/g) ?? []
    expect(mentions, run.stderr).toHaveLength(1)
  }, 60_000)

  it("exits 3 without a key and 5 without an API", async () => {
    const missing = await keys(["list"], { KEYS_API_URL: api.url })
    expect(missing.code).toBe(3)
    expect(missing.stderr.trim().split("\n")).toHaveLength(1)
    const down = await keys(["get", "key_x"], {
      KEYS_API_URL: "http://127.0.0.1:9",
      KEYS_API_KEY: "sk_live_x"
    })
    expect(down.code).toBe(5)
    expect(down.stderr).toMatch(/^keys: Could not reach the keys API/)
  }, 60_000)

  it("prints its version and shell completions", async () => {
    const version = await keys(["--version"], {})
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const completions = await keys(["--completions", "bash"], {})
    expect(completions.code).toBe(0)
    expect(completions.stdout).toContain("keys")
  }, 60_000)
})
