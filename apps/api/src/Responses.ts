/** Writing JSON answers straight to node:http, for the paths that run outside the HttpApi app. */
import type { ServerResponse } from "node:http"
import { ApiErrors } from "@keys/http"

/**
 * With its length known, the answer goes out unchunked, headers and body in one socket write
 * (a chunked one takes a writev of four buffers).
 */
export const sendJson = (
  res: ServerResponse,
  status: number,
  body: string,
  headers?: Record<string, string>
): void => {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    ...headers
  })
  res.end(body)
}

export const sendError = (
  res: ServerResponse,
  code: ApiErrors.ErrorCode,
  message: string,
  extra?: Record<string, unknown>
) => sendJson(res, ApiErrors.statusOf[code], ApiErrors.body(code, message, extra))
