/**
 * The servers the tests run against. Tests that only read and write use a fresh database on the
 * machine's PostgreSQL (127.0.0.1:5432, dropped afterwards). Tests that stop or kill a server get a
 * private one of their own on a free port (`initdb` + `pg_ctl` as the `postgres` user, a
 * `redis-server` child), never the shared instances.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { randomBytes } from "node:crypto"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { connect, createServer, type AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import pg from "pg"

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** A port nothing listens on right now (the kernel's choice, released at once). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Polls `check` every `interval` ms until it answers true; fails after `timeout` ms naming `what`. */
export const until = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  options: { readonly timeout?: number; readonly interval?: number } = {}
): Promise<number> => {
  const started = Date.now()
  const deadline = started + (options.timeout ?? 10_000)
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Date.now() - started} ms waiting for ${what}`)
    await sleep(options.interval ?? 50)
  }
}

// --- PostgreSQL ------------------------------------------------------------------------------

const withClient = async <A>(url: string, use: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end().catch(() => undefined)
  }
}

const databaseUrl = (serverUrl: string, database: string): string => {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

export interface Database {
  readonly name: string
  readonly url: string
  /** A small pool for the test's own queries and assertions. */
  readonly pool: pg.Pool
  readonly drop: () => Promise<void>
}

/** A new empty database on the server of `serverUrl` (the shared one by default). */
export const createDatabase = async (serverUrl = ADMIN_URL): Promise<Database> => {
  const name = `keys_resilience_${process.pid}_${randomBytes(4).toString("hex")}`
  await withClient(serverUrl, (client) => client.query(`create database ${name}`))
  const url = databaseUrl(serverUrl, name)
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on("error", () => undefined)
  return {
    name,
    url,
    pool,
    drop: async () => {
      await pool.end().catch(() => undefined)
      await withClient(serverUrl, (client) =>
        client.query(`drop database if exists ${name} with (force)`)
      ).catch(() => undefined)
    }
  }
}

/** The directory of the PostgreSQL server binaries (initdb, pg_ctl, pg_dump): the newest installed. */
export const postgresBinaries = (): string => {
  const configured = process.env.TEST_PG_BINDIR
  if (configured !== undefined) return configured
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql")
  return join(root, versions[0]!, "bin")
}

/** The whole database as SQL text (data and schema), as an operator's backup would hold it. */
export const dumpDatabase = (url: string): string =>
  execFileSync(join(postgresBinaries(), "pg_dump"), ["--no-owner", "--no-privileges", url], {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024
  })

/** As root, the cluster runs as the `postgres` user (PostgreSQL refuses to run as root). */
const asPostgres = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
  return { uid, gid }
}

export interface PrivateCluster {
  readonly port: number
  /** The maintenance database, for `createDatabase(cluster.url)`. */
  readonly url: string
  /** `pg_ctl stop -m fast`: every backend is terminated, connections are refused until `start`. */
  readonly stop: () => Promise<void>
  readonly start: () => Promise<void>
  /** Stops the server and removes its directory. */
  readonly destroy: () => Promise<void>
}

/** A PostgreSQL cluster of its own on a free port: initdb (trust, no fsync) and start, about 1 s. */
export const startPrivateCluster = async (): Promise<PrivateCluster> => {
  const bin = postgresBinaries()
  const dir = mkdtempSync(join(tmpdir(), "keys-pg-"))
  const data = join(dir, "data")
  const owner = asPostgres()
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
  const run = (command: string, args: ReadonlyArray<string>) =>
    execFileSync(join(bin, command), args, {
      ...(owner ?? {}),
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8"
    })
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--no-instructions"])
  const port = await freePort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`
  const start = async () => {
    run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "server.log"), "-w", "-t", "30", "start"])
  }
  const stop = async () => {
    run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"])
  }
  await start()
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy: async () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"])
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

// --- Redis -----------------------------------------------------------------------------------

/** One PING over a raw socket: true when the server answers PONG within a second. */
export const redisPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1")
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(1_000, () => done(false))
    socket.once("error", () => done(false))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")))
  })

export interface PrivateRedis {
  readonly port: number
  readonly url: string
  /** SIGKILL: the server dies at once and, without persistence, everything it held is gone. */
  readonly kill: () => Promise<void>
  /** Starts it again on the same port (empty). */
  readonly start: () => Promise<void>
  /** SIGSTOP / SIGCONT: the server hangs with its connections open, then carries on. */
  readonly pause: () => void
  readonly resume: () => void
  readonly destroy: () => Promise<void>
}

/** A redis-server of its own on a free port, no persistence. */
export const startPrivateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), "keys-redis-"))
  let server: ChildProcess | undefined
  const start = async () => {
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" }
    )
    server = child
    await until(`redis-server on ${port}`, () => redisPing(port), { timeout: 10_000 })
  }
  const kill = async () => {
    const child = server
    server = undefined
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGKILL")
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    pause: () => server?.kill("SIGSTOP"),
    resume: () => server?.kill("SIGCONT"),
    destroy: async () => {
      server?.kill("SIGCONT")
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** One Redis command over a raw socket (RESP); answers the reply's text, for assertions only. */
export const redisCommand = (port: number, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let answer = ""
    socket.setTimeout(2_000, () => {
      socket.destroy()
      reject(new Error(`redis ${args[0]}: no answer`))
    })
    socket.once("error", reject)
    socket.once("connect", () =>
      socket.write(
        `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")}`
      )
    )
    socket.on("data", (data) => {
      answer += data.toString()
      if (answer.endsWith("\r\n")) {
        socket.destroy()
        resolve(answer.trim())
      }
    })
  })
