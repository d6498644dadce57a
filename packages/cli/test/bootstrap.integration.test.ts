import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TestDatabase } from "@keys/postgres/testing"

const database = `keys_cli_${process.pid}_${randomBytes(4).toString("hex")}`
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${database}`
const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

const { admin } = TestDatabase

const keys = (...args: Array<string>) =>
  spawnSync(process.execPath, ["--import", "tsx", bin, ...args], {
    env: { ...process.env, DATABASE_URL },
    encoding: "utf8",
    timeout: 60_000
  })

beforeAll(() => admin(`create database ${database}`))
afterAll(() => admin(`drop database if exists ${database} with (force)`))

describe("keys bootstrap", () => {
  it("mints a root key in the database and prints it once", () => {
    const result = keys("bootstrap", "--team", "acme", "--admin", "--json")
    expect(result.status, result.stderr).toBe(0)
    const created = JSON.parse(result.stdout)
    expect(created.key).toMatch(/^sk_live_[0-9A-Za-z]{48}$/)
    expect(created).toMatchObject({
      teamId: "acme",
      scopes: ["keys:read", "keys:write", "keys:verify", "admin"],
      status: "active"
    })
    const human = keys("bootstrap")
    expect(human.status, human.stderr).toBe(0)
    expect(human.stdout).toContain('Root key for team "default" (keys:read, keys:write, keys:verify)')
    expect(human.stdout).toMatch(/sk_live_[0-9A-Za-z]{48}/)
  }, 90_000)

  it("answers a usage error with exit code 2 and an unreachable database with 5", () => {
    expect(keys("bootstrap", "--bogus").status).toBe(2)
    const down = spawnSync(process.execPath, ["--import", "tsx", bin, "bootstrap"], {
      env: { ...process.env, DATABASE_URL: "postgres://postgres@127.0.0.1:1/nothing" },
      encoding: "utf8",
      timeout: 60_000
    })
    expect(down.status).toBe(5)
    expect(down.stderr).toMatch(/^keys: /)
  }, 90_000)
})
