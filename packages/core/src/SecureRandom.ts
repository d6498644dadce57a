/**
 * Entropy for secrets and ids. The default layer uses the Web Crypto CSPRNG, available in Node 20+,
 * Deno, Bun, workers and browsers; never `Math.random`.
 */
import { Context, Layer } from "effect"

export class SecureRandom extends Context.Tag("@keys/core/SecureRandom")<
  SecureRandom,
  {
    /** `size` bytes from a cryptographically secure generator. */
    readonly nextBytes: (size: number) => Uint8Array
  }
>() {}

const WEB_CRYPTO_MAX_BYTES = 65_536

export const webCrypto: SecureRandom["Type"] = {
  nextBytes: (size) => {
    const bytes = new Uint8Array(size)
    for (let offset = 0; offset < size; offset += WEB_CRYPTO_MAX_BYTES) {
      globalThis.crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + WEB_CRYPTO_MAX_BYTES)))
    }
    return bytes
  }
}

export const layer: Layer.Layer<SecureRandom> = Layer.succeed(SecureRandom, webCrypto)

/**
 * A deterministic generator for tests only: a xorshift stream from `seed`. Keys made with it are
 * predictable; never provide it outside tests.
 */
export const layerDeterministic = (seed: number): Layer.Layer<SecureRandom> => {
  let state = seed >>> 0 || 1
  return Layer.succeed(SecureRandom, {
    nextBytes: (size) => {
      const bytes = new Uint8Array(size)
      for (let i = 0; i < size; i++) {
        state ^= state << 13
        state ^= state >>> 17
        state ^= state << 5
        bytes[i] = state & 0xff
      }
      return bytes
    }
  })
}
