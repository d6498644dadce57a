import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { KeyFormat } from "../src/index.js"
import { webCrypto } from "../src/SecureRandom.js"
import { crc32 } from "../src/internal/crc32.js"
import { encodeFixed } from "../src/internal/base62.js"

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const bytesFrom = (seed: ReadonlyArray<number>) => {
  let i = 0
  return (size: number) => Uint8Array.from({ length: size }, () => seed[i++ % seed.length]!)
}

describe("KeyFormat", () => {
  it("checksums with the standard CRC-32 (IEEE), written as 6 base62 digits", () => {
    // The catalogued check value of CRC-32/ISO-HDLC.
    expect(crc32("123456789")).toBe(0xcbf43926)
    expect(crc32("")).toBe(0)
    const token = KeyFormat.generate(KeyFormat.defaultFormat, "sk_live_", webCrypto.nextBytes)
    const body = token.slice(0, -6)
    expect(token.slice(-6)).toBe(encodeFixed(crc32(body), 6))
    expect(Either.isRight(KeyFormat.parse(KeyFormat.defaultFormat, token))).toBe(true)
  })

  it("mints default keys matching the contract's regex", () => {
    for (const prefix of ["sk_live_", "sk_test_"]) {
      const token = KeyFormat.generate(KeyFormat.defaultFormat, prefix, webCrypto.nextBytes)
      expect(token).toMatch(/^sk_(live|test)_[0-9A-Za-z]{48}$/)
      expect(KeyFormat.parse(KeyFormat.defaultFormat, token)).toEqual(
        Either.right({ prefix, environment: prefix === "sk_live_" ? "live" : "test" })
      )
      expect(KeyFormat.start(token, prefix)).toBe(token.slice(0, prefix.length + 4))
    }
  })

  it("mints the documented shapes of each preset", () => {
    const sendkit = KeyFormat.generate(KeyFormat.sendkit, "sk_", webCrypto.nextBytes)
    expect(sendkit).toMatch(/^sk_[0-9A-Za-z]{48}$/)
    expect(sendkit).toHaveLength(51)
    expect(KeyFormat.prefixFor(KeyFormat.sendkit, "test", false)).toBeUndefined()
    expect(KeyFormat.generate(KeyFormat.senderkit, "sk_test_", webCrypto.nextBytes)).toMatch(
      /^sk_test_[0-9A-Za-z]{48}$/
    )
    expect(KeyFormat.prefixFor(KeyFormat.send0, "live", true)).toBe("sk_restr_")
    expect(KeyFormat.prefixFor(KeyFormat.send0, "live", false)).toBe("sk_live_")
    expect(KeyFormat.prefixFor(KeyFormat.send0, "test", true)).toBe("sk_test_")
    const restricted = KeyFormat.generate(KeyFormat.send0, "sk_restr_", webCrypto.nextBytes)
    expect(KeyFormat.parse(KeyFormat.send0, restricted)).toEqual(
      Either.right({ prefix: "sk_restr_", environment: "live" })
    )
  })

  it("rejects wrong prefix, length, alphabet and checksum", () => {
    const token = KeyFormat.generate(KeyFormat.defaultFormat, "sk_live_", webCrypto.nextBytes)
    const parse = (text: string) => KeyFormat.parse(KeyFormat.defaultFormat, text)
    expect(parse(`pk_live_${token.slice(8)}`)).toEqual(Either.left("prefix"))
    expect(parse(token.slice(0, -1))).toEqual(Either.left("length"))
    expect(parse(`${token.slice(0, 20)}-${token.slice(21)}`)).toEqual(Either.left("alphabet"))
    const last = token.at(-1) === "0" ? "1" : "0"
    expect(parse(token.slice(0, -1) + last)).toEqual(Either.left("checksum"))
  })

  it("every generated key parses and passes its checksum (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }),
        fc.boolean(),
        (seed, live) => {
          const prefix = live ? "sk_live_" : "sk_test_"
          const token = KeyFormat.generate(
            KeyFormat.defaultFormat,
            prefix,
            bytesFrom(seed.some((b) => b < 248) ? seed : [1, ...seed])
          )
          return (
            Either.isRight(KeyFormat.parse(KeyFormat.defaultFormat, token)) &&
            KeyFormat.pattern(KeyFormat.defaultFormat).test(token)
          )
        }
      )
    )
  })

  it("any single-character change to a checksummed key is rejected (property)", () => {
    const token = KeyFormat.generate(KeyFormat.defaultFormat, "sk_live_", webCrypto.nextBytes)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: token.length - 1 }),
        fc.constantFrom(...ALPHABET, "_", "-", "é"),
        (index, char) => {
          fc.pre(token[index] !== char)
          const mutated = token.slice(0, index) + char + token.slice(index + 1)
          return Either.isLeft(KeyFormat.parse(KeyFormat.defaultFormat, mutated))
        }
      ),
      { numRuns: 2000 }
    )
  })

  it("never throws on arbitrary strings (property)", () => {
    for (const format of Object.values(KeyFormat.presets)) {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.string({ unit: "binary" }),
            fc.constant("sk_live_").chain((p) => fc.string().map((s) => p + s))
          ),
          (text) => {
            const result = KeyFormat.parse(format, text)
            return Either.isLeft(result) || Either.isRight(result)
          }
        ),
        { numRuns: 1000 }
      )
    }
  })

  it("lets a platform define its own prefixes, and refuses unsafe formats", () => {
    const acme = KeyFormat.make({
      name: "acme",
      prefixes: [
        { prefix: "acme_live_", environment: "live" },
        { prefix: "acme_test_", environment: "test" }
      ],
      randomLength: 40,
      checksum: true
    })
    const token = KeyFormat.generate(acme, "acme_test_", webCrypto.nextBytes)
    expect(token).toHaveLength("acme_test_".length + 46)
    expect(KeyFormat.parse(acme, token)).toEqual(Either.right({ prefix: "acme_test_", environment: "test" }))
    expect(() =>
      KeyFormat.make({
        name: "weak",
        prefixes: [{ prefix: "w_", environment: "live" }],
        randomLength: 8,
        checksum: false
      })
    ).toThrow(/at least 32/)
    expect(() =>
      KeyFormat.make({
        name: "odd",
        prefixes: [{ prefix: "Bad Prefix", environment: "live" }],
        randomLength: 40,
        checksum: false
      })
    ).toThrow(/prefix/)
  })

  it("draws base62 characters uniformly from the CSPRNG bytes", () => {
    // Bytes 248..255 would bias the first characters of the alphabet; they must be skipped.
    const token = KeyFormat.generate(KeyFormat.senderkit, "sk_live_", bytesFrom([250, 0, 255, 61]))
    expect(token.slice(8)).toBe("0z".repeat(24))
  })
})
