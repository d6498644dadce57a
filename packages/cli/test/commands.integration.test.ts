/**
 * Every API command of the CLI against a running API on a fresh database, run in process: exit
 * codes, `--json` output byte for byte against the API's own answer, the table, and no secret ever
 * shown by `list` or `get`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type CliRun, type RunningApi, raw, runCli, startApi, uniqueTeam } from "./helpers.js"

const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{48}$/
const PLAINTEXT_ANYWHERE = /sk_(live|test)_[0-9A-Za-z]{48}/

let api: RunningApi
let team: string
let rootKey: string
let env: Record<string, string>
/** Every plaintext the tests have seen, for the "never shown again" checks. */
const secrets: Array<string> = []

beforeAll(async () => {
  api = await startApi()
  team = uniqueTeam("cli")
  rootKey = await api.rootKey(team)
  env = { KEYS_API_URL: api.url, KEYS_API_KEY: rootKey }
}, 60_000)

afterAll(() => api?.close(), 30_000)

const keys = (...args: Array<string>) => runCli(args, env)

const ok = (run: CliRun): CliRun => {
  expect(run.code, `stderr: ${run.stderr}\nstdout: ${run.stdout}`).toBe(0)
  return run
}

const createJson = async (...args: Array<string>) => {
  const run = ok(await keys("create", ...args, "--json"))
  const created = JSON.parse(run.stdout)
  secrets.push(created.key)
  return created
}

const expectNoSecret = (output: string) => {
  expect(output).not.toMatch(PLAINTEXT_ANYWHERE)
  for (const secret of secrets) expect(output).not.toContain(secret)
}

describe("keys create", () => {
  it("prints the secret once with a warning, and exits 0", async () => {
    const run = ok(await keys("create", "--name", "Human", "--scopes", "send,read", "--expires", "30d"))
    const shown = run.stdout.match(new RegExp(PLAINTEXT_ANYWHERE, "g")) ?? []
    expect(shown).toHaveLength(1)
    secrets.push(shown[0]!)
    expect(run.stdout).toMatch(
      /^Created key "Human" \(key_\w+\) in team cli_\w+, live, scopes send,read; expires in 30 days\./
    )
    expect(run.stdout).toContain("shown only once")
  })

  it("prints the API's JSON with --json, the plaintext in key", async () => {
    const created = await createJson(
      "--name",
      "Json",
      "--env",
      "test",
      "--resources",
      "example.com",
      "--expires",
      "2099-01-01T00:00:00Z",
      "--metadata",
      '{"plan":"pro"}'
    )
    expect(created.key).toMatch(KEY_PATTERN)
    expect(Object.keys(created)).toEqual([
      "id",
      "teamId",
      "name",
      "start",
      "environment",
      "scopes",
      "resources",
      "metadata",
      "createdAt",
      "expiresAt",
      "revokedAt",
      "lastUsedAt",
      "status",
      "key"
    ])
    expect(created).toMatchObject({
      teamId: team,
      environment: "test",
      scopes: null,
      resources: ["example.com"],
      metadata: { plan: "pro" },
      expiresAt: "2099-01-01T00:00:00.000Z"
    })
  })

  it("refuses bad flags with exit 2, printing the problem once", async () => {
    for (const args of [
      ["create"],
      ["create", "--name", "x", "--env", "prod"],
      ["create", "--name", "x", "--expires", "soon"],
      ["create", "--name", "x", "--metadata", "{nope"],
      ["create", "--name", "x", "--metadata", "[1]"],
      ["create", "--name", "x", "--scopes", "Send Mail"],
      ["frobnicate"]
    ]) {
      const run = await keys(...args)
      expect({ args, code: run.code }).toEqual({ args, code: 2 })
      expect(run.stdout).toBe("")
      expect(run.stderr.length).toBeGreaterThan(0)
    }
    const run = await keys("create", "--name", "x", "--expires", "soon")
    expect(run.stderr.split('"soon" is neither').length - 1).toBe(1)
  })

  it("exits 1 when the API refuses the input", async () => {
    const run = await keys("create", "--name", "late", "--expires", "2001-01-01T00:00:00Z")
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/^keys: refused \(validation_error\): expiresAt: .* \(request req_\w+\)$/)
  })
})

describe("keys get, update, revoke", () => {
  it("gets a key: --json is exactly the API's answer, the table shows no secret", async () => {
    const created = await createJson("--name", "Getter", "--scopes", "send", "--metadata", '{"b":1,"a":2}')
    const json = ok(await keys("get", created.id, "--json"))
    const fromApi = await raw(`${api.url}/v1/keys/${created.id}`, rootKey)
    expect(json.stdout).toBe(fromApi.text)
    expectNoSecret(json.stdout)

    const human = ok(await keys("get", created.id))
    expect(human.stdout).toContain(`id           ${created.id}`)
    expect(human.stdout).toContain("name         Getter")
    expect(human.stdout).toContain("last used    never")
    expectNoSecret(human.stdout)
  })

  it("exits 1 for an unknown key", async () => {
    for (const command of ["get", "revoke", "roll"]) {
      const run = await keys(command, "key_unknown")
      expect(run.code).toBe(1)
      expect(run.stderr).toMatch(/^keys: not found: /)
    }
  })

  it("updates the fields given, clears the expiry with never, and needs at least one flag", async () => {
    const created = await createJson("--name", "Before", "--expires", "7d")
    const run = ok(
      await keys("update", created.id, "--name", "After", "--scopes", "a,b", "--expires", "never", "--json")
    )
    const updated = JSON.parse(run.stdout)
    expect(updated).toMatchObject({ id: created.id, name: "After", scopes: ["a", "b"], expiresAt: null })
    expect(run.stdout).toBe((await raw(`${api.url}/v1/keys/${created.id}`, rootKey)).text)
    const human = ok(await keys("update", created.id, "--expires", "24h"))
    expect(human.stdout).toMatch(/expires {6}\S+ \(in 1 day\)/)
    const nothing = await keys("update", created.id)
    expect(nothing.code).toBe(2)
    expect(nothing.stderr).toMatch(/^keys: nothing to change/)
  })

  it("revokes a key (and again, as a no-op)", async () => {
    const created = await createJson("--name", "Doomed")
    const run = ok(await keys("revoke", created.id, "--json"))
    expect(JSON.parse(run.stdout)).toMatchObject({ id: created.id, status: "revoked" })
    const again = ok(await keys("revoke", created.id))
    expect(again.stdout).toMatch(/^Revoked key "Doomed"/)
    const verify = await keys("verify", created.key)
    expect(verify.code).toBe(1)
  })
})

describe("keys roll", () => {
  it("issues a new secret and keeps the old key for the grace period", async () => {
    const created = await createJson("--name", "Rolling", "--scopes", "send")
    const run = ok(await keys("roll", created.id, "--grace", "24h"))
    const shown = run.stdout.match(new RegExp(PLAINTEXT_ANYWHERE, "g")) ?? []
    expect(shown).toHaveLength(1)
    secrets.push(shown[0]!)
    expect(run.stdout).toContain(`The old key ${created.id} keeps working until`)
    expect(run.stdout).toContain("(in 1 day)")
    expect((await keys("verify", created.key)).code).toBe(0)
    expect((await keys("verify", shown[0]!)).code).toBe(0)

    const newId = /^Rolled key "Rolling" \((key_\w+)\)/.exec(run.stdout)?.[1]
    expect(newId).toBeDefined()
    const json = ok(await keys("roll", newId!, "--json"))
    const rolled = JSON.parse(json.stdout)
    secrets.push(rolled.key)
    expect(rolled).toMatchObject({ name: "Rolling", scopes: ["send"], status: "active" })
    expect(rolled.key).toMatch(KEY_PATTERN)
    expect((await keys("verify", shown[0]!)).code).toBe(1)
    const again = await keys("roll", created.id)
    expect(again.code).toBe(1)
  })

  it("refuses a grace period that is not a whole duration of seconds", async () => {
    expect((await keys("roll", "key_x", "--grace", "soon")).code).toBe(2)
    expect((await keys("roll", "key_x", "--grace", "1500ms")).code).toBe(2)
  })
})

describe("keys verify", () => {
  it("exits 0 for a valid key and 1 otherwise; --json is the API's answer", async () => {
    const created = await createJson("--name", "Checked", "--scopes", "send", "--resources", "example.com")
    const valid = ok(await keys("verify", created.key, "--scopes", "send", "--resource", "example.com"))
    expect(valid.stdout).toBe(`valid: key "Checked" (${created.id}) in team ${team}, live`)

    const json = await keys("verify", created.key, "--scopes", "send", "--json")
    expect(json.code).toBe(0)
    const fromApi = await raw(`${api.url}/v1/keys/verify`, rootKey, {
      method: "POST",
      body: { key: created.key, scopes: ["send"] }
    })
    const masked = (text: string) => text.replace(/"lastUsedAt":("[^"]*"|null)/, '"lastUsedAt":"…"')
    expect(masked(json.stdout)).toBe(masked(fromApi.text))

    const scoped = await keys("verify", created.key, "--scopes", "admin:all")
    expect(scoped.code).toBe(1)
    expect(scoped.stdout).toContain("not valid: insufficient_scope (answer your caller with HTTP 403)")
    expect(scoped.stdout).toContain("missing scopes: admin:all")

    const unknown = await keys("verify", "sk_live_unknown", "--json")
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stdout)).toEqual({ valid: false, code: "invalid_api_key", status: 401 })
  })
})

describe("keys list", () => {
  it("shows an aligned table", async () => {
    const admin = await api.rootKey(uniqueTeam("platform"), { admin: true })
    const snapshotTeam = uniqueTeam("snap")
    const asAdmin = (...args: Array<string>) => runCli(args, { KEYS_API_URL: api.url, KEYS_API_KEY: admin })
    const made = async (...args: Array<string>) => {
      const run = ok(await asAdmin("create", "--team", snapshotTeam, ...args, "--json"))
      secrets.push(JSON.parse(run.stdout).key)
      return JSON.parse(run.stdout)
    }
    await made("--name", "Production", "--scopes", "send,read", "--expires", "30d")
    await made("--name", "Staging", "--env", "test")
    const old = await made("--name", "Old", "--scopes", "send")
    ok(await asAdmin("revoke", old.id, "--team", snapshotTeam))

    const run = ok(await asAdmin("list", "--team", snapshotTeam))
    expectNoSecret(run.stdout)
    const masked = run.stdout
      .replace(/key_[0-9A-Za-z]+/g, (id) => `key_${"x".repeat(id.length - 4)}`)
      .replace(/sk_(live|test)_[0-9A-Za-z]{4}/g, (start) => `${start.slice(0, -4)}xxxx`)
    expect(`\n${masked}\n`).toMatchInlineSnapshot(`
      "
      ID                    NAME        START         ENV   SCOPES     STATUS   EXPIRES     LAST USED
      key_xxxxxxxxxxxxxxxx  Old         sk_live_xxxx  live  send       revoked  never       never
      key_xxxxxxxxxxxxxxxx  Staging     sk_test_xxxx  test  *          active   never       never
      key_xxxxxxxxxxxxxxxx  Production  sk_live_xxxx  live  send,read  active   in 30 days  never
      "
    `)

    const json = ok(await asAdmin("list", "--team", snapshotTeam, "--json"))
    const fromApi = await raw(`${api.url}/v1/keys?teamId=${snapshotTeam}`, admin)
    expect(json.stdout).toBe(fromApi.text)
    expectNoSecret(json.stdout)

    const revoked = JSON.parse(
      ok(await asAdmin("list", "--team", snapshotTeam, "--status", "revoked", "--json")).stdout
    )
    expect(revoked.data.map((key: { id: string }) => key.id)).toEqual([old.id])
    const expiring = JSON.parse(
      ok(await asAdmin("list", "--team", snapshotTeam, "--expiring", "60d", "--json")).stdout
    )
    expect(expiring.data.map((key: { name: string }) => key.name)).toEqual(["Production"])
    const testOnly = ok(await asAdmin("list", "--team", snapshotTeam, "--env", "test"))
    expect(testOnly.stdout.split("\n")).toHaveLength(2)
  })

  it("pages with --limit and --cursor, or follows every page with --all", async () => {
    const pagedTeam = uniqueTeam("paged")
    const root = await api.rootKey(pagedTeam)
    const asRoot = (...args: Array<string>) => runCli(args, { KEYS_API_URL: api.url, KEYS_API_KEY: root })
    for (const name of ["a", "b", "c", "d"]) ok(await asRoot("create", "--name", name))
    const first = ok(await asRoot("list", "--limit", "2"))
    expect(first.stdout.split("\n")).toHaveLength(3)
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1]
    expect(cursor).toBeDefined()
    const second = JSON.parse(ok(await asRoot("list", "--limit", "2", "--cursor", cursor!, "--json")).stdout)
    expect(second.data.map((key: { name: string }) => key.name)).toEqual(["b", "a"])
    const all = JSON.parse(ok(await asRoot("list", "--all", "--limit", "2", "--json")).stdout)
    expect(all.data.map((key: { name: string }) => key.name)).toEqual([
      "d",
      "c",
      "b",
      "a",
      `root ${pagedTeam}`
    ])
    expect(all.nextCursor).toBeNull()
    expectNoSecret(all.stdout ?? JSON.stringify(all))
  })

  it("says so when there are no keys", async () => {
    const run = ok(await keys("list", "--status", "expired"))
    expect(run.stdout).toBe("No keys.")
  })
})

describe("exit codes for the CLI's own key and the connection", () => {
  it("exits 3 when the CLI's key is refused or missing", async () => {
    const refused = await runCli(["list"], { KEYS_API_URL: api.url, KEYS_API_KEY: "sk_live_nobody" })
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/^keys: authentication failed \(invalid_api_key\): /)
    const missing = await runCli(["list"], { KEYS_API_URL: api.url })
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain("KEYS_API_KEY")
  })

  it("exits 4 when the CLI's key lacks a scope", async () => {
    const reader = await api.keyWith(team, ["keys:read"])
    const run = await runCli(["create", "--name", "x"], { KEYS_API_URL: api.url, KEYS_API_KEY: reader })
    expect(run.code).toBe(4)
    expect(run.stderr).toMatch(/^keys: permission denied \(insufficient_scope\): .*keys:write/)
    expect(
      (await runCli(["verify", "sk_live_x"], { KEYS_API_URL: api.url, KEYS_API_KEY: reader })).code
    ).toBe(4)
  })

  it("exits 5 when the API cannot be reached", async () => {
    const run = await runCli(["list"], { KEYS_API_URL: "http://127.0.0.1:9", KEYS_API_KEY: rootKey })
    expect(run.code).toBe(5)
    expect(run.stderr).toMatch(/^keys: Could not reach the keys API at http:\/\/127\.0\.0\.1:9/)
    expect(run.stderr).not.toContain(rootKey)
  })

  it("takes --api-url and --api-key before or after the subcommand", async () => {
    const after = await runCli(["list", "--api-url", api.url, "--api-key", rootKey, "--json"])
    expect(after.code, after.stderr).toBe(0)
    const before = await runCli([`--api-url=${api.url}`, `--api-key=${rootKey}`, "list", "--json"])
    expect(before.code, before.stderr).toBe(0)
    const overridden = await runCli(["get", "key_x", "--api-key", "sk_live_wrong"], env)
    expect(overridden.code).toBe(3)
    expect((await runCli(["list", "--api-url", "not a url"], env)).code).toBe(2)
  })

  it("has --help on every command", async () => {
    for (const command of [
      [],
      ["create"],
      ["list"],
      ["get"],
      ["update"],
      ["revoke"],
      ["roll"],
      ["verify"],
      ["bootstrap"]
    ]) {
      const run = await keys(...command, "--help")
      expect({ command, code: run.code }).toEqual({ command, code: 0 })
      expect(run.stdout).toContain("USAGE")
    }
  })
})
