/**
 * How keys look: prefixes per environment, the length of the random body and whether a checksum
 * follows it. Presets cover the contract's formats; `make` lets a platform define its own.
 */
import { Either } from "effect"
import type { Environment } from "./ApiKey.js"
import { base62Value, encodeFixed, isBase62, randomBase62 } from "./internal/base62.js"
import { CRC32_TABLE, crc32 } from "./internal/crc32.js"

export interface KeyPrefix {
  readonly prefix: string
  readonly environment: Environment
  /** Used instead of the environment's plain prefix for keys created with an explicit scope list. */
  readonly restricted: boolean
}

export interface KeyFormat {
  readonly name: string
  readonly prefixes: ReadonlyArray<KeyPrefix>
  /** The parse result of each prefix, made once (parallel to `prefixes`). */
  readonly parsed: ReadonlyArray<Either.Either<ParsedKey, MalformedReason>>
  /** Random base62 characters after the prefix. */
  readonly randomLength: number
  /** Whether a 6-character base62 CRC32 of everything before it ends the token. */
  readonly checksum: boolean
}

export const CHECKSUM_LENGTH = 6
/** Characters of the body shown in `start`, after the prefix. */
export const START_LENGTH = 4

const accepted = (entry: KeyPrefix): Either.Either<ParsedKey, MalformedReason> =>
  Either.right({ prefix: entry.prefix, environment: entry.environment })

const PREFIX_PATTERN = /^[a-z][a-z0-9]*_([a-z0-9]+_)?$/

export const make = (options: {
  readonly name: string
  readonly prefixes: ReadonlyArray<{
    readonly prefix: string
    readonly environment: Environment
    readonly restricted?: boolean
  }>
  readonly randomLength: number
  readonly checksum: boolean
}): KeyFormat => {
  if (options.prefixes.length === 0)
    throw new Error(`key format ${options.name}: at least one prefix is needed`)
  for (const { prefix } of options.prefixes) {
    if (!PREFIX_PATTERN.test(prefix)) {
      throw new Error(`key format ${options.name}: prefix "${prefix}" must look like "sk_" or "sk_live_"`)
    }
  }
  if (!Number.isInteger(options.randomLength) || options.randomLength < 32) {
    // 32 base62 characters carry ~190 bits: below that a key becomes guessable at scale.
    throw new Error(`key format ${options.name}: randomLength must be an integer of at least 32`)
  }
  // Longest first, so parsing never mistakes `sk_live_` for `sk_` followed by a body.
  const prefixes = [...options.prefixes]
    .map((entry) => ({
      prefix: entry.prefix,
      environment: entry.environment,
      restricted: entry.restricted ?? false
    }))
    .sort((a, b) => b.prefix.length - a.prefix.length)
  return {
    name: options.name,
    prefixes,
    parsed: prefixes.map(accepted),
    randomLength: options.randomLength,
    checksum: options.checksum
  }
}

/** `sk_live_` / `sk_test_` + 42 random base62 + 6-character CRC32 checksum (48 in all). */
export const defaultFormat = make({
  name: "default",
  prefixes: [
    { prefix: "sk_live_", environment: "live" },
    { prefix: "sk_test_", environment: "test" }
  ],
  randomLength: 42,
  checksum: true
})

/** SendKit: `sk_` + 48 random characters, one environment. */
export const sendkit = make({
  name: "sendkit",
  prefixes: [{ prefix: "sk_", environment: "live" }],
  randomLength: 48,
  checksum: false
})

/** SenderKit: `sk_live_` / `sk_test_` + 48 random characters. */
export const senderkit = make({
  name: "senderkit",
  prefixes: [
    { prefix: "sk_live_", environment: "live" },
    { prefix: "sk_test_", environment: "test" }
  ],
  randomLength: 48,
  checksum: false
})

/** send0: `sk_live_`, `sk_test_`, and `sk_restr_` for live keys created with explicit scopes. */
export const send0 = make({
  name: "send0",
  prefixes: [
    { prefix: "sk_live_", environment: "live" },
    { prefix: "sk_test_", environment: "test" },
    { prefix: "sk_restr_", environment: "live", restricted: true }
  ],
  randomLength: 48,
  checksum: false
})

export const presets: Readonly<Record<string, KeyFormat>> = {
  default: defaultFormat,
  sendkit,
  senderkit,
  send0
}

export const presetNames = Object.keys(presets)

export const bodyLength = (format: KeyFormat): number =>
  format.randomLength + (format.checksum ? CHECKSUM_LENGTH : 0)

/** The environments a format can mint keys for. */
export const environments = (format: KeyFormat): ReadonlyArray<Environment> => [
  ...new Set(format.prefixes.map((entry) => entry.environment))
]

/** The prefix for a new key, or undefined when the format has none for that environment. */
export const prefixFor = (
  format: KeyFormat,
  environment: Environment,
  scoped: boolean
): string | undefined => {
  const candidates = format.prefixes.filter((entry) => entry.environment === environment)
  const restricted = scoped ? candidates.find((entry) => entry.restricted) : undefined
  return (restricted ?? candidates.find((entry) => !entry.restricted))?.prefix
}

const checksumOf = (text: string, end: number): string => encodeFixed(crc32(text, end), CHECKSUM_LENGTH)

/** Mints a token with `prefix` (which must be one of the format's) from CSPRNG bytes. */
export const generate = (
  format: KeyFormat,
  prefix: string,
  nextBytes: (size: number) => Uint8Array
): string => {
  const withRandom = prefix + randomBase62(format.randomLength, nextBytes)
  return format.checksum ? withRandom + checksumOf(withRandom, withRandom.length) : withRandom
}

export interface ParsedKey {
  readonly prefix: string
  readonly environment: Environment
}

/** Why a token was refused before any lookup; for logs and metrics, never shown to the caller. */
export type MalformedReason = "prefix" | "length" | "alphabet" | "checksum"

// Preallocated outcomes: parsing runs on every verification and allocates nothing.
const REFUSED: Readonly<Record<MalformedReason, Either.Either<ParsedKey, MalformedReason>>> = {
  prefix: Either.left("prefix"),
  length: Either.left("length"),
  alphabet: Either.left("alphabet"),
  checksum: Either.left("checksum")
}

/**
 * One pass over a checksummed token: the body's alphabet, the CRC32 of everything before the last
 * 6 characters, and those characters against it digit by digit.
 */
const bodyAndChecksum = (token: string, prefixLength: number): "alphabet" | "checksum" | undefined => {
  const end = token.length - CHECKSUM_LENGTH
  // -1, not 0xffffffff: the register stays a small integer, which keeps the loop on int32 math
  // (about twice as fast); `~crc >>> 0` below is the same final XOR.
  let crc = -1
  for (let i = 0; i < prefixLength; i++) crc = CRC32_TABLE[(crc ^ token.charCodeAt(i)) & 0xff]! ^ (crc >>> 8)
  for (let i = prefixLength; i < end; i++) {
    const code = token.charCodeAt(i)
    if (base62Value(code) < 0) return "alphabet"
    crc = CRC32_TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8)
  }
  let rest = ~crc >>> 0
  let mismatch = false
  for (let i = token.length - 1; i >= end; i--) {
    const digit = base62Value(token.charCodeAt(i))
    if (digit < 0) return "alphabet"
    const quotient = Math.floor(rest / 62)
    if (digit !== rest - quotient * 62) mismatch = true
    rest = quotient
  }
  return mismatch ? "checksum" : undefined
}

/**
 * Checks a token's shape: a known prefix, the exact length, base62 body and, where the format has
 * one, the checksum. Never throws, whatever the input; does no hashing, no I/O, no allocation.
 */
export const parse = (format: KeyFormat, token: string): Either.Either<ParsedKey, MalformedReason> => {
  const prefixes = format.prefixes
  let index = 0
  while (index < prefixes.length && !token.startsWith(prefixes[index]!.prefix)) index++
  if (index === prefixes.length) return REFUSED.prefix
  const prefixLength = prefixes[index]!.prefix.length
  if (token.length !== prefixLength + bodyLength(format)) return REFUSED.length
  if (format.checksum) {
    const refused = bodyAndChecksum(token, prefixLength)
    if (refused !== undefined) return REFUSED[refused]
  } else if (!isBase62(token, prefixLength)) return REFUSED.alphabet
  return format.parsed[index]!
}

/** What lists show: the prefix and the first characters of the body (`sk_live_3xaQ`). */
export const start = (token: string, prefix: string): string => token.slice(0, prefix.length + START_LENGTH)

/** A regular expression matching this format's tokens, for secret scanners. */
export const pattern = (format: KeyFormat): RegExp => {
  const prefixes = format.prefixes.map((entry) => entry.prefix).join("|")
  return new RegExp(`^(?:${prefixes})[0-9A-Za-z]{${bodyLength(format)}}$`)
}
