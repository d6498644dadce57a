/**
 * Node adapters of the core's portable ports: SHA-256 from `node:crypto`.
 */
import * as crypto from "node:crypto"
import { Layer } from "effect"
import * as KeyHasher from "../KeyHasher.js"
import * as SecureRandom from "../SecureRandom.js"

/**
 * SHA-256 of the UTF-8 token, as hex. The one-shot `crypto.hash` (Node 20.12+) skips the Hash
 * object and is about three times faster on a key-sized input; runtimes without it use `createHash`.
 */
export const sha256Hex: (token: string) => string =
  typeof crypto.hash === "function"
    ? (token) => crypto.hash("sha256", token, "hex")
    : (token) => crypto.createHash("sha256").update(token, "utf8").digest("hex")

export const KeyHasherLive: Layer.Layer<KeyHasher.KeyHasher> = KeyHasher.layer(sha256Hex)

/** Everything the core needs from the platform on Node. */
export const layer: Layer.Layer<KeyHasher.KeyHasher | SecureRandom.SecureRandom> = Layer.merge(
  KeyHasherLive,
  SecureRandom.layer
)
