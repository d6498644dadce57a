/**
 * SHA-256 of a whole token, as lowercase hex: the only form in which a key is stored or looked up.
 * Hashing is a port so the core runs where `node:crypto` does not; it is synchronous because it sits
 * on the verification hot path (Web Crypto's digest is async only). The Node adapter lives in
 * `@keys/core/node`.
 */
import { Context, Layer } from "effect"

export class KeyHasher extends Context.Tag("@keys/core/KeyHasher")<
  KeyHasher,
  {
    /** Lowercase hex SHA-256 of the UTF-8 bytes of `token`. */
    readonly sha256Hex: (token: string) => string
  }
>() {}

export const make = (sha256Hex: (token: string) => string): KeyHasher["Type"] => ({ sha256Hex })

export const layer = (sha256Hex: (token: string) => string): Layer.Layer<KeyHasher> =>
  Layer.succeed(KeyHasher, make(sha256Hex))
