export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/** Digit value of each ASCII code in base62, -1 for codes outside the alphabet. */
export const BASE62_VALUE: Int8Array = (() => {
  const values = new Int8Array(128).fill(-1)
  for (let i = 0; i < BASE62_ALPHABET.length; i++) values[BASE62_ALPHABET.charCodeAt(i)] = i
  return values
})()

/** The digit value of a UTF-16 code unit, -1 when it is not in [0-9A-Za-z]. */
export const base62Value = (code: number): number => (code < 128 ? BASE62_VALUE[code]! : -1)

/** True when every character of `text` from `from` on is in [0-9A-Za-z]. */
export const isBase62 = (text: string, from = 0): boolean => {
  for (let i = from; i < text.length; i++) {
    if (base62Value(text.charCodeAt(i)) < 0) return false
  }
  return true
}

/** `value` (a non-negative integer below 2^53) in base62, left-padded with "0" to `width`. */
export const encodeFixed = (value: number, width: number): string => {
  let out = ""
  let rest = value
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET[rest % 62] + out
    rest = Math.floor(rest / 62)
  }
  return out
}

/**
 * Maps CSPRNG bytes to base62 characters without modulo bias: bytes >= 248 (= 4 × 62) are
 * rejected, so each accepted byte is uniform over the alphabet.
 */
export const randomBase62 = (length: number, nextBytes: (size: number) => Uint8Array): string => {
  let out = ""
  while (out.length < length) {
    const bytes = nextBytes(Math.ceil((length - out.length) * 1.1) + 4)
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const byte = bytes[i]!
      if (byte < 248) out += BASE62_ALPHABET[byte % 62]
    }
  }
  return out
}
