/**
 * The one gate every request body passes before any schema sees it: JSON only, at most 64 KiB, and
 * at most 32 levels deep. Deeper JSON is refused here because decoding and error formatting
 * recurse: an attacker's 10 000-level body must cost a 400, never the process.
 */
import { Either } from "effect"

export const MAX_BYTES = 64 * 1024
export const MAX_DEPTH = 32

export interface BodyRefusal {
  readonly status: 400 | 413
  readonly code: "validation_error" | "payload_too_large"
  readonly message: string
}

export const tooLarge: BodyRefusal = {
  status: 413,
  code: "payload_too_large",
  message: `The request body is over ${MAX_BYTES} bytes.`
}

const refuse = (message: string): BodyRefusal => ({ status: 400, code: "validation_error", message })

/** Whether a Content-Type names JSON (`application/json`, `application/problem+json`, …). */
export const isJsonType = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return true
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return (
    type === "" || type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))
  )
}

/** Whether `value` nests objects or arrays deeper than `max`, checked without recursion. */
export const deeperThan = (value: unknown, max: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (current === null || typeof current !== "object") continue
    if (depth > max) return true
    for (const child of Array.isArray(current) ? current : Object.values(current))
      stack.push([child, depth + 1])
  }
  return false
}

/** Parses a JSON body, or says why it is refused (naming the body as the field). */
export const parseJson = (text: string, contentType?: string): Either.Either<unknown, BodyRefusal> => {
  if (!isJsonType(contentType))
    return Either.left(refuse("body: send JSON with Content-Type: application/json"))
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Either.left(refuse("body: not valid JSON"))
  }
  return deeperThan(value, MAX_DEPTH)
    ? Either.left(refuse(`body: nested more than ${MAX_DEPTH} levels deep`))
    : Either.right(value)
}
