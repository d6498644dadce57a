/**
 * Processes under test: the API and the worker started from their own `main.ts` (exactly as
 * `pnpm start` runs them), plus the harness's baseline and peer servers. Each is stopped at cleanup.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { onCleanup } from "./Cleanup.js"
import { sleep } from "./Stats.js"

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url))
export const BENCH_ROOT = fileURLToPath(new URL("../../", import.meta.url))
const API_DIR = `${REPO_ROOT}apps/api`
const WORKER_DIR = `${REPO_ROOT}apps/worker`

export interface Running {
  readonly child: ChildProcess
  readonly pid: number
  readonly url: string
  /** The last output lines, for error messages. */
  readonly output: () => string
  readonly stop: () => Promise<void>
}

/** A port free right now on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The harness's environment without anything that would point a child at another store. */
const baseEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === "DATABASE_URL" || name === "REDIS_URL" || name.startsWith("KEYS_") || name === "PORT")
      continue
    if (name === "WORKER_PORT" || name === "NODE_OPTIONS") continue
    env[name] = value
  }
  return env
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 8_000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

const launch = (options: {
  readonly label: string
  readonly args: ReadonlyArray<string>
  readonly cwd: string
  readonly env: Record<string, string>
}) => {
  const child = spawn(process.execPath, [...options.args], {
    cwd: options.cwd,
    env: { ...baseEnv(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const stop = onCleanup(() => stopChild(child))
  return { child, output: () => output, stop }
}

/** Polls `url` until it answers 200, the child exits, or the time runs out. */
const waitForHttp = async (
  label: string,
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMillis = 90_000
): Promise<void> => {
  const deadline = Date.now() + timeoutMillis
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}): ${output().slice(-1_500)}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(
    `${label} did not answer ${url} within ${timeoutMillis / 1000} s: ${output().slice(-1_500)}`
  )
}

/**
 * The API (`apps/api/src/main.ts`) on `env`; answers once `/healthz` does. `nodeArgs` go before the
 * script (the memory figure preloads its probe with them).
 */
export const startApi = async (
  label: string,
  env: Record<string, string>,
  nodeArgs: ReadonlyArray<string> = []
): Promise<Running> => {
  const port = await freePort()
  const launched = launch({
    label,
    args: [...nodeArgs, "--import", "tsx", "src/main.ts"],
    cwd: API_DIR,
    env: { KEYS_LOG_LEVEL: "Warning", HOST: "127.0.0.1", ...env, PORT: String(port) }
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(label, `${url}/healthz`, launched.child, launched.output)
  return { ...launched, pid: launched.child.pid!, url }
}

/** The worker (`apps/worker/src/main.ts`); answers once its `/healthz` does. */
export const startWorker = async (label: string, env: Record<string, string>): Promise<Running> => {
  const port = await freePort()
  const launched = launch({
    label,
    args: ["--import", "tsx", "src/main.ts"],
    cwd: WORKER_DIR,
    env: { KEYS_LOG_LEVEL: "Warning", HOST: "127.0.0.1", ...env, WORKER_PORT: String(port) }
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(label, `${url}/healthz`, launched.child, launched.output)
  return { ...launched, pid: launched.child.pid!, url }
}

/** A script of this package (plain node for `.mjs`, tsx for `.ts`) listening on `PORT`. */
export const startScript = async (
  label: string,
  script: string,
  env: Record<string, string>,
  readyPath = "/healthz"
): Promise<Running> => {
  const port = await freePort()
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url))
  const launched = launch({
    label,
    args: script.endsWith(".ts") ? ["--import", "tsx", path] : [path],
    cwd: BENCH_ROOT,
    env: { ...env, PORT: String(port) }
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(label, `${url}${readyPath}`, launched.child, launched.output)
  return { ...launched, pid: launched.child.pid!, url }
}

/** The path of a file of this package's `src`. */
export const sourcePath = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url))

/** Runs a script of this package to completion and answers its stdout. */
export const runScript = (
  script: string,
  args: ReadonlyArray<string>,
  nodeArgs: ReadonlyArray<string> = []
): Promise<string> =>
  new Promise((resolve, reject) => {
    const path = sourcePath(script)
    const child = spawn(process.execPath, [...nodeArgs, path, ...args], { cwd: BENCH_ROOT, env: baseEnv() })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("exit", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${script} exited ${code}: ${stderr.slice(-1_000)}`))
    )
  })

/** Resident set size of a process, from /proc (Linux). */
export const rssBytes = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status)
  if (match === null) throw new Error(`no VmRSS for ${pid}`)
  return Number(match[1]) * 1024
}

/** One Prometheus sample by exact series text (`name` or `name{labels}`), 0 when absent. */
export const metric = (text: string, series: string): number => {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return 0
}

export const scrape = async (url: string): Promise<string> => {
  const response = await fetch(`${url}/metrics`)
  return response.text()
}
