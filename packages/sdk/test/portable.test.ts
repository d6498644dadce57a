/**
 * The Promise facade must run where only `fetch` exists (workers, Deno, browsers): loading it must
 * import no Node built-in. Node is started with the `browser` export condition, as a bundler for
 * those runtimes resolves packages, and a module hook records every built-in that is imported.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "keys-sdk-builtins-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Built-ins imported while loading and running `entry`, one "specifier importer" per line. */
const builtinsImportedBy = (entry: string): Array<string> => {
  const log = join(dir, `${entry}.log`)
  const result = spawnSync(
    process.execPath,
    [
      "-C",
      "browser",
      "--import",
      "tsx",
      "--import",
      join(fixtures, "builtin-recorder.mjs"),
      join(fixtures, entry)
    ],
    { env: { ...process.env, KEYS_BUILTIN_LOG: log }, encoding: "utf8", timeout: 60_000 }
  )
  expect(result.status, result.stderr).toBe(0)
  let text = ""
  try {
    text = readFileSync(log, "utf8")
  } catch {
    text = ""
  }
  return text.split("\n").filter((line) => line.length > 0)
}

describe("the Promise facade's import graph", () => {
  it("records a Node built-in when one is imported (control)", () => {
    expect(builtinsImportedBy("import-node-builtin.ts")).toEqual([expect.stringMatching(/^node:path /)])
  }, 60_000)

  it("imports no Node built-in", () => {
    expect(builtinsImportedBy("import-facade.ts")).toEqual([])
  }, 60_000)
})
