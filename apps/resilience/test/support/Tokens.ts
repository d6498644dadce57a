/**
 * Tokens for hostile input: well-formed keys of the default format (`sk_live_` + 42 base62 + a
 * 6-character base62 CRC32 of everything before it) that were never issued, including ones that
 * share a chosen number of leading characters with a real key.
 */
import { randomBytes } from "node:crypto"
import { crc32 } from "node:zlib"

export const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
export const PREFIX_LENGTH = "sk_live_".length
export const RANDOM_LENGTH = 42

const checksum = (text: string): string => {
  let rest = crc32(Buffer.from(text, "latin1"))
  let out = ""
  for (let i = 0; i < 6; i++) {
    out = BASE62[rest % 62] + out
    rest = Math.floor(rest / 62)
  }
  return out
}

/** `prefixAndRandom` (prefix + 42 characters) completed with its checksum: a well-formed token. */
export const withChecksum = (prefixAndRandom: string): string => prefixAndRandom + checksum(prefixAndRandom)

export const randomBase62 = (length: number): string => {
  let out = ""
  for (const byte of randomBytes(length * 2)) {
    if (byte < 248) out += BASE62[byte % 62]
    if (out.length === length) break
  }
  return out.length === length ? out : out + randomBase62(length - out.length)
}

/**
 * A well-formed, never-issued token whose first `shared` characters after the prefix are those of
 * `key`, and whose next character differs from it (so exactly `shared` characters match).
 */
export const sharingPrefix = (key: string, shared: number): string => {
  const prefix = key.slice(0, PREFIX_LENGTH)
  const body = key.slice(PREFIX_LENGTH, PREFIX_LENGTH + RANDOM_LENGTH)
  const next = body[shared]
  let differing = randomBase62(1)
  while (differing === next) differing = randomBase62(1)
  const random = body.slice(0, shared) + differing + randomBase62(RANDOM_LENGTH - shared - 1)
  return withChecksum(prefix + random)
}
