/**
 * Request bodies are read once, here, for every endpoint: at most 64 KiB however they are sent
 * (answered 413 without reading further, the connection closed after the answer), then vetted by
 * `RequestBody` (JSON only, at most 32 levels deep). The HttpApi app then reads a replay of the
 * vetted bytes, so no framework decoder ever sees a body this gate refused.
 */
import { IncomingMessage, type ServerResponse } from "node:http"
import { ApiErrors, RequestBody } from "@keys/http"
import { Either } from "effect"
import { Redaction } from "@keys/core"
import { sendError } from "./Responses.js"

export interface Body {
  readonly bytes: Buffer
  /** The parsed JSON; undefined for an empty body. */
  readonly value: unknown
}

/**
 * Reads and vets the body, then calls `then`; answers the refusal itself otherwise. `anyType`
 * reads any Content-Type as JSON (the verify endpoint, so `curl -d` works); management endpoints
 * insist on JSON, so a form post can never act on a key.
 */
export const read = (
  req: IncomingMessage,
  res: ServerResponse,
  then: (body: Body) => void,
  options: { readonly anyType?: boolean } = {}
): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  let refused = false
  req.on("data", (chunk: Buffer) => {
    if (refused) return
    size += chunk.length
    if (size > RequestBody.MAX_BYTES) {
      refused = true
      res.setHeader("connection", "close")
      sendError(res, "payload_too_large", RequestBody.tooLarge.message)
      // Stop the upload once the answer is out instead of draining it.
      res.on("finish", () => req.destroy())
      return
    }
    chunks.push(chunk)
  })
  req.on("end", () => {
    if (refused) return
    const bytes = Buffer.concat(chunks, size)
    if (size === 0) {
      // Even an empty body must not claim a type a framework decoder would act on (forms, multipart).
      if (options.anyType !== true && !RequestBody.isJsonType(req.headers["content-type"])) {
        return sendError(res, "validation_error", "body: send JSON with Content-Type: application/json", {
          field: "body"
        })
      }
      return then({ bytes, value: undefined })
    }
    // A listener that throws would take the process down: every answer is guarded.
    try {
      Either.match(
        RequestBody.parseJson(
          bytes.toString("utf8"),
          options.anyType === true ? undefined : req.headers["content-type"]
        ),
        {
          onLeft: (refusal) => sendError(res, refusal.code, refusal.message, { field: "body" }),
          onRight: (value) => then({ bytes, value })
        }
      )
    } catch (defect) {
      console.error(
        JSON.stringify({
          level: "ERROR",
          message: "request body handler failed",
          cause: Redaction.redactSecrets(String(defect))
        })
      )
      if (!res.headersSent) sendError(res, "internal_error", ApiErrors.messages.internal)
    }
  })
  req.on("error", () => undefined)
}

/** A request carrying `bytes` as its body and everything else of `req`: for the HttpApi app. */
export const replay = (req: IncomingMessage, bytes: Buffer): IncomingMessage => {
  const copy = new IncomingMessage(req.socket)
  copy.method = req.method
  copy.url = req.url
  copy.headers = { ...req.headers, "content-length": String(bytes.length) }
  copy.rawHeaders = req.rawHeaders
  copy.httpVersion = req.httpVersion
  copy.httpVersionMajor = req.httpVersionMajor
  copy.httpVersionMinor = req.httpVersionMinor
  copy.push(bytes)
  copy.push(null)
  copy.complete = true
  return copy
}
