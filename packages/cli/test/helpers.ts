/**
 * Test harness: a fresh PostgreSQL database per test file (the machine's server at 127.0.0.1:5432,
 * trust auth, dropped afterwards) with the whole keys API running on it in process, on port 0.
 */
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Console, Effect } from "effect"
import * as Cli from "../src/Cli.js"

// The API harness is the SDK's: the CLI is tested against the same running API.
export { ADMIN_URL, freshDatabase, type RunningApi, startApi, uniqueTeam } from "../../sdk/test/helpers.js"

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `keys …args` in process with `env` as its only environment (`KEYS_API_URL`, `KEYS_API_KEY`),
 * capturing what it prints; answers the exit code `bin.ts` would set.
 */
export const runCli = async (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Promise<CliRun> => {
  const stdout: Array<string> = []
  const stderr: Array<string> = []
  const text = (parts: ReadonlyArray<unknown>) => parts.map(String).join(" ")
  const base = Effect.runSync(Console.consoleWith(Effect.succeed))
  const capture: Console.Console = {
    ...base,
    log: (...parts) => Effect.sync(() => void stdout.push(text(parts))),
    info: (...parts) => Effect.sync(() => void stdout.push(text(parts))),
    error: (...parts) => Effect.sync(() => void stderr.push(text(parts))),
    warn: (...parts) => Effect.sync(() => void stderr.push(text(parts))),
    unsafe: {
      ...base.unsafe,
      log: (...parts) => void stdout.push(text(parts)),
      info: (...parts) => void stdout.push(text(parts)),
      error: (...parts) => void stderr.push(text(parts)),
      warn: (...parts) => void stderr.push(text(parts))
    }
  }
  const code = await Effect.runPromise(
    Cli.main(["node", "keys", ...args]).pipe(
      Effect.withConsole(capture),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(NodeContext.layer)
    )
  )
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
}

/** `fetch` with a bearer key; the status and the body text as sent. */
export const raw = async (
  url: string,
  key: string,
  init: { readonly method?: string; readonly body?: unknown } = {}
): Promise<{ readonly status: number; readonly text: string }> => {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(20_000)
  })
  return { status: response.status, text: await response.text() }
}
