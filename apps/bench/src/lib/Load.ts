/**
 * Load generators: autocannon for HTTP throughput, a closed-loop driver for in-process calls, and
 * single keep-alive requests for latency probes.
 */
import { Agent, request as httpRequest } from "node:http"
import autocannon from "autocannon"

export interface HttpLoad {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly total: number
  /** Responses that were not 2xx, plus errors and timeouts. */
  readonly failures: number
}

export const CONNECTIONS = 50

export const autocannonRun = (options: autocannon.Options): Promise<HttpLoad> =>
  new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, ...options }, (error, result) => {
      if (error) return reject(error)
      resolve({
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        total: result.requests.total,
        failures: result.non2xx + result.errors + result.timeouts
      })
    })
  })

/**
 * `GET path` with a different key per request, rotating over `tokens` from a counter shared by
 * every connection, so concurrent requests carry different keys (as distinct clients would).
 */
export const rotatingAuthRequests = (
  tokens: ReadonlyArray<string>,
  path: string,
  header: (token: string) => Record<string, string>
): Array<autocannon.Request> => {
  let next = 0
  return [
    {
      method: "GET",
      path,
      setupRequest: (request) => {
        const token = tokens[next++ % tokens.length]!
        return { ...request, headers: { ...header(token) } }
      }
    }
  ]
}

export interface DriverResult {
  readonly opsPerSecond: number
  readonly operations: number
  readonly failures: number
}

/** `concurrency` loops calling `call(i)` with a shared counter until `durationMillis` pass. */
export const drive = async (
  concurrency: number,
  durationMillis: number,
  call: (index: number) => Promise<boolean>
): Promise<DriverResult> => {
  let next = 0
  let operations = 0
  let failures = 0
  const started = performance.now()
  const deadline = started + durationMillis
  const loop = async () => {
    while (performance.now() < deadline) {
      const ok = await call(next++)
      operations++
      if (!ok) failures++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  const seconds = (performance.now() - started) / 1000
  return { opsPerSecond: operations / seconds, operations, failures }
}

/** `count` calls at most `concurrency` at a time. */
export const forEachConcurrently = async (
  count: number,
  concurrency: number,
  call: (index: number) => Promise<void>
): Promise<void> => {
  let next = 0
  const loop = async () => {
    while (next < count) await call(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop))
}

export const keepAliveAgent = (): Agent => new Agent({ keepAlive: true, maxSockets: 64 })

export interface Response {
  readonly status: number
  readonly body: string
}

/** One request on a keep-alive agent (lower and steadier overhead than fetch for probes). */
export const send = (
  agent: Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {}
): Promise<Response> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        agent,
        method: options.method ?? "GET",
        headers: {
          ...options.headers,
          ...(options.body === undefined ? {} : { "content-length": String(Buffer.byteLength(options.body)) })
        }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
        res.on("error", reject)
      }
    )
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${options.method ?? "GET"} ${url}`)))
    req.on("error", reject)
    req.end(options.body)
  })

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })
