/**
 * Signatures of webhook deliveries (contract section 6): the header
 * `Keys-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Web Crypto only, so
 * receivers can verify in any runtime.
 */
const encoder = new TextEncoder()

const hmacHex = async (secret: string, message: string): Promise<string> => {
  const key = await globalThis.crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"]
  )
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(message)))
  let hex = ""
  for (const byte of signature) hex += byte.toString(16).padStart(2, "0")
  return hex
}

/** The `Keys-Signature` header for `body` sent at `timestampSeconds`. */
export const sign = async (secret: string, body: string, timestampSeconds: number): Promise<string> =>
  `t=${timestampSeconds},v1=${await hmacHex(secret, `${timestampSeconds}.${body}`)}`

const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return difference === 0
}

/**
 * Whether `header` is a valid signature of `body` (the raw bytes as text, before any JSON parsing)
 * made within `toleranceSeconds` of now (default 5 minutes, against replays).
 */
export const verifyWebhookSignature = async (
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { readonly toleranceSeconds?: number; readonly nowSeconds?: number } = {}
): Promise<boolean> => {
  if (header == null) return false
  const parts = new Map(
    header.split(",").map((part) => {
      const index = part.indexOf("=")
      return [part.slice(0, index).trim(), part.slice(index + 1).trim()] as const
    })
  )
  const timestamp = Number(parts.get("t"))
  const signature = parts.get("v1")
  if (!Number.isSafeInteger(timestamp) || signature === undefined) return false
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false
  return constantTimeEqual(signature, await hmacHex(secret, `${timestamp}.${body}`))
}
