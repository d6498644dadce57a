/**
 * Durations as users write them everywhere (env vars, query strings, CLI flags):
 * `<integer><unit>` with unit `ms`, `s`, `m`, `h` or `d`, and `0` alone for "now".
 */
import { Duration, Either, ParseResult, Schema } from "effect"

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
type Unit = keyof typeof UNIT_MS

const PATTERN = /^(\d{1,15})(ms|s|m|h|d)$/

/** Parses `30d`, `24h`, `500ms`, `0`; the error says what is accepted. */
export const parse = (text: string): Either.Either<Duration.Duration, string> => {
  const trimmed = text.trim()
  if (trimmed === "0") return Either.right(Duration.zero)
  const match = PATTERN.exec(trimmed)
  if (match === null) {
    return Either.left(
      `"${truncate(trimmed)}" is not a duration: use <integer><unit> with unit ms, s, m, h or d (e.g. 30m, 24h, 7d), or 0`
    )
  }
  const millis = Number(match[1]) * UNIT_MS[match[2] as Unit]
  if (!Number.isSafeInteger(millis)) return Either.left(`"${truncate(trimmed)}" is too long a duration`)
  return Either.right(Duration.millis(millis))
}

/** The canonical text of a duration: the largest unit that divides it evenly (`168h` → `7d`). */
export const format = (duration: Duration.DurationInput): string => {
  const millis = Duration.toMillis(Duration.decode(duration))
  if (millis === 0) return "0"
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (millis % UNIT_MS[unit] === 0) return `${millis / UNIT_MS[unit]}${unit}`
  }
  return `${millis}ms`
}

/** Parses a comma-separated list such as `7d,1d,0`. */
export const parseList = (text: string): Either.Either<ReadonlyArray<Duration.Duration>, string> => {
  const parts = text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
  if (parts.length === 0) return Either.left("expected a comma-separated list of durations such as 7d,1d,0")
  return Either.all(parts.map(parse))
}

/** Schema from the text form to a `Duration`. */
export const DurationFromText = Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
  strict: true,
  decode: (text, _, ast) =>
    Either.match(parse(text), {
      onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, text, message)),
      onRight: ParseResult.succeed
    }),
  encode: (duration) => ParseResult.succeed(format(duration))
}).annotations({ identifier: "Duration", description: "<integer><unit> with unit ms, s, m, h or d, or 0" })

const truncate = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}…` : text)
