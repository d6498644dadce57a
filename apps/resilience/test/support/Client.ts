/**
 * A small HTTP client on `node:http` with keep-alive connections: cheap enough to drive tens of
 * thousands of requests from the test process, and raw enough to send what `fetch` refuses to
 * (any method, odd paths, bodies with any content type). Every request is bounded in time: a reply
 * that does not come within its timeout is reported as such, never waited on.
 */
import { Agent, type IncomingHttpHeaders, request as httpRequest } from "node:http"

const agent = new Agent({ keepAlive: true, maxSockets: 256 })

export interface Request {
  readonly method: string
  /** Path and query, sent as given. */
  readonly path: string
  readonly headers?: Record<string, string> | undefined
  readonly body?: string | Buffer | undefined
  /** Default 10 s. */
  readonly timeoutMs?: number
}

export interface Reply {
  /** 0 when no answer came: `error` says why (a timeout, the connection closed, …). */
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  /** The body parsed as JSON, undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON fields
  readonly json: any
  /** Milliseconds from sending to the whole answer (or the failure). */
  readonly ms: number
  readonly error?: string
}

export const DEFAULT_TIMEOUT_MS = 10_000

export const send = (base: string, request: Request): Promise<Reply> =>
  new Promise((resolve) => {
    const started = performance.now()
    const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
    let settled = false
    const finish = (reply: Omit<Reply, "ms">) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...reply, ms: performance.now() - started })
    }
    const failed = (error: string) => finish({ status: 0, headers: {}, text: "", json: undefined, error })
    let outgoing: ReturnType<typeof httpRequest>
    try {
      outgoing = httpRequest(`${base}${request.path}`, {
        method: request.method,
        agent,
        headers: {
          ...(request.body === undefined
            ? {}
            : { "content-length": String(Buffer.byteLength(request.body)) }),
          ...request.headers
        }
      })
    } catch (error) {
      // The client itself refused the request (an invalid header or path): nothing was sent.
      return failed(`not sent: ${(error as Error).message}`)
    }
    const timer = setTimeout(() => {
      outgoing.destroy()
      failed(`no answer within ${timeoutMs} ms`)
    }, timeoutMs)
    outgoing.on("error", (error) => failed(error.message))
    outgoing.on("response", (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", (error) => failed(error.message))
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let json: unknown
        try {
          json = text.length === 0 ? undefined : JSON.parse(text)
        } catch {
          json = undefined
        }
        finish({ status: response.statusCode ?? 0, headers: response.headers, text, json })
      })
    })
    outgoing.end(request.body)
  })

/** A JSON request with a bearer key. */
export const call = (
  base: string,
  method: string,
  path: string,
  key: string | undefined,
  body?: unknown,
  timeoutMs?: number
): Promise<Reply> =>
  send(base, {
    method,
    path,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    ...(timeoutMs === undefined ? {} : { timeoutMs })
  })

/** Runs `task` for every item with at most `concurrency` in flight; answers the results in order. */
export const mapConcurrently = async <A, B>(
  items: ReadonlyArray<A>,
  concurrency: number,
  task: (item: A, index: number) => Promise<B>
): Promise<Array<B>> => {
  const results = new Array<B>(items.length)
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await task(items[index]!, index)
    }
  })
  await Promise.all(lanes)
  return results
}
