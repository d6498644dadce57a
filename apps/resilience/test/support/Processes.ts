/**
 * The API and the worker as child processes, exactly as an operator runs them (`node --import tsx
 * src/main.ts` with the contract's environment variables), so each has its own memory, can be
 * SIGKILLed, and everything it prints is captured for the secret scans.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { until, freePort } from "./Services.js"
import { send } from "./Client.js"

const APPS = fileURLToPath(new URL("../../../", import.meta.url))

/** The first-start banner's root key line (apps/api/src/Bootstrap.ts). */
const BANNER_KEY = /^ {4}(sk_\S+)$/m

export interface ServiceProcess {
  readonly pid: number
  readonly url: string
  /** Everything the process wrote to stdout and stderr so far. */
  readonly output: () => string
  /** Resident set size in bytes, from /proc; undefined once the process is gone. */
  readonly rss: () => number | undefined
  readonly alive: () => boolean
  /** Sends a signal (SIGKILL: no cleanup at all) and waits for the exit. */
  readonly kill: (signal?: NodeJS.Signals) => Promise<void>
  /** SIGTERM, a graceful stop, then SIGKILL if it takes longer than `graceMs` (15 s): which one ended it. */
  readonly stop: (graceMs?: number) => Promise<"graceful" | "killed">
}

export interface ApiProcess extends ServiceProcess {
  /** The root key the first start printed (team `default`: keys:read, keys:write, keys:verify). */
  readonly rootKey: string | undefined
}

const running = new Set<ChildProcess>()
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL")
})

const launch = async (
  app: "api" | "worker",
  env: Record<string, string>,
  port: number
): Promise<ServiceProcess & { readonly child: ChildProcess }> => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: `${APPS}${app}`,
    // Only what the test sets: nothing from the developer's shell leaks into the configuration.
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      HOST: "127.0.0.1",
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  const chunks: Array<string> = []
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => chunks.push(chunk))
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => chunks.push(chunk))
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      running.delete(child)
      resolve()
    })
  )
  const output = () => {
    if (chunks.length > 1) chunks.splice(0, chunks.length, chunks.join(""))
    return chunks[0] ?? ""
  }
  const alive = () => child.exitCode === null && child.signalCode === null
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (!alive()) return
    child.kill(signal)
    await exited
  }
  const url = `http://127.0.0.1:${port}`
  await until(
    `${app} to answer /healthz`,
    async () => {
      if (!alive()) throw new Error(`${app} exited at start:\n${output().slice(-2_000)}`)
      return (await send(url, { method: "GET", path: "/healthz", timeoutMs: 1_000 })).status === 200
    },
    { timeout: 60_000, interval: 100 }
  )
  return {
    child,
    pid: child.pid!,
    url,
    output,
    alive,
    rss: () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8")
        const kilobytes = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
        return kilobytes === undefined ? undefined : Number(kilobytes) * 1024
      } catch {
        return undefined
      }
    },
    kill,
    stop: async (graceMs = 15_000) => {
      if (!alive()) return "graceful"
      let outcome: "graceful" | "killed" = "graceful"
      const timer = setTimeout(() => {
        outcome = "killed"
        child.kill("SIGKILL")
      }, graceMs)
      await kill("SIGTERM")
      clearTimeout(timer)
      return outcome
    }
  }
}

export interface ApiOptions {
  readonly databaseUrl: string
  /** With Redis, usage goes through the BullMQ queue to a worker. */
  readonly redisUrl?: string
  readonly redisPrefix?: string
  readonly env?: Record<string, string>
  /** The database is empty: wait for the first-start root key (default true). */
  readonly firstStart?: boolean
}

/** `apps/api` on a free port; answers once /healthz does, with the first-start root key if printed. */
export const startApi = async (options: ApiOptions): Promise<ApiProcess> => {
  const port = await freePort()
  const started = await launch(
    "api",
    {
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      KEYS_USAGE_FLUSH_MS: "200",
      KEYS_LOG_LEVEL: "info",
      ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
      ...(options.redisPrefix === undefined ? {} : { KEYS_REDIS_PREFIX: options.redisPrefix }),
      ...options.env
    },
    port
  )
  // On an empty database the banner follows the server's start by a moment.
  if (options.firstStart ?? true) {
    await until("the first-start banner", () => BANNER_KEY.test(started.output()), { timeout: 10_000 })
  }
  const rootKey = BANNER_KEY.exec(started.output())?.[1]
  return { ...started, rootKey }
}

export interface WorkerOptions {
  readonly databaseUrl: string
  readonly redisUrl: string
  readonly redisPrefix?: string
}

/** `apps/worker` with its /healthz and /metrics on a free port. */
export const startWorker = async (options: WorkerOptions): Promise<ServiceProcess> => {
  const port = await freePort()
  return launch(
    "worker",
    {
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      WORKER_PORT: String(port),
      KEYS_LOG_LEVEL: "info",
      ...(options.redisPrefix === undefined ? {} : { KEYS_REDIS_PREFIX: options.redisPrefix })
    },
    port
  )
}
