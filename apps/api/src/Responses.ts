/** Writing JSON answers straight to node:http, for the paths that run outside the HttpApi app. */
import type { ServerResponse } from "node:http"
import { ApiErrors } from "@keys/http"

const JSON_HEADERS = { "content-type": "application/json" }

export const sendJson = (
  res: ServerResponse,
  status: number,
  body: string,
  headers?: Record<string, string>
): void => {
  res.writeHead(status, headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...headers })
  res.end(body)
}

export const sendError = (
  res: ServerResponse,
  code: ApiErrors.ErrorCode,
  message: string,
  extra?: Record<string, unknown>
) => sendJson(res, ApiErrors.statusOf[code], ApiErrors.body(code, message, extra))
