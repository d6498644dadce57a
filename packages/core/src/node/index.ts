/**
 * Node adapters of the core's portable ports: SHA-256 from `node:crypto`.
 */
import { createHash } from "node:crypto"
import { Layer } from "effect"
import * as KeyHasher from "../KeyHasher.js"
import * as SecureRandom from "../SecureRandom.js"

export const sha256Hex = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

export const KeyHasherLive: Layer.Layer<KeyHasher.KeyHasher> = KeyHasher.layer(sha256Hex)

/** Everything the core needs from the platform on Node. */
export const layer: Layer.Layer<KeyHasher.KeyHasher | SecureRandom.SecureRandom> = Layer.merge(
  KeyHasherLive,
  SecureRandom.layer
)
