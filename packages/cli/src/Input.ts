/**
 * Flags whose text needs reading: times (`30d` or an ISO date), durations, comma-separated lists and
 * JSON metadata. A value that does not parse is a usage error (exit 2) that names the flag.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import { DurationText, Scope } from "@keys/core"
import { Duration, Effect, Either } from "effect"

/** A time as given on the command line: a duration from now, an absolute date, or no time at all. */
export type When =
  | { readonly _tag: "After"; readonly duration: Duration.Duration }
  | { readonly _tag: "At"; readonly date: Date }
  | { readonly _tag: "Never" }

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** `30d`, `24h`, `30m`, an ISO-8601 date such as `2027-01-01T00:00:00Z`, or `never` when allowed. */
export const parseWhen = (flag: string, text: string, allowNever: boolean): Either.Either<When, string> => {
  const trimmed = text.trim()
  if (allowNever && trimmed === "never") return Either.right({ _tag: "Never" })
  const duration = DurationText.parse(trimmed)
  if (Either.isRight(duration)) return Either.right({ _tag: "After", duration: duration.right })
  if (ISO_DATE.test(trimmed)) {
    const date = new Date(trimmed)
    if (!Number.isNaN(date.getTime())) return Either.right({ _tag: "At", date })
  }
  return Either.left(
    `--${flag}: "${trimmed.slice(0, 40)}" is neither a duration (30d, 24h, 30m) nor an ISO date (2027-01-01T00:00:00Z)${
      allowNever ? ", nor never" : ""
    }`
  )
}

/** The date a `When` stands for at `nowMillis` (null for `never`). */
export const resolveWhen = (when: When, nowMillis: number): Date | null => {
  switch (when._tag) {
    case "After":
      return new Date(nowMillis + Duration.toMillis(when.duration))
    case "At":
      return when.date
    case "Never":
      return null
  }
}

const fromEither = <A>(result: Either.Either<A, string>) =>
  Either.match(result, {
    onLeft: (message) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(message))),
    onRight: (value) => Effect.succeed(value)
  })

/** A time flag. */
export const when = (name: string, options: { readonly allowNever: boolean }): Options.Options<When> =>
  Options.text(name).pipe(Options.mapEffect((text) => fromEither(parseWhen(name, text, options.allowNever))))

/** A duration flag (`7d`, `24h`, `30m`, `0`). */
export const duration = (name: string): Options.Options<Duration.Duration> =>
  Options.text(name).pipe(
    Options.mapEffect((text) =>
      fromEither(Either.mapLeft(DurationText.parse(text), (message) => `--${name}: ${message}`))
    )
  )

/** Splits `a,b` into `["a", "b"]`; blanks are dropped, so `""` is the empty list. */
export const splitList = (text: string): ReadonlyArray<string> =>
  text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part.length > 0)

/** A comma-separated list flag. */
export const list = (name: string): Options.Options<ReadonlyArray<string>> =>
  Options.text(name).pipe(Options.map(splitList))

/** A comma-separated list of scopes, each well formed. */
export const scopes = (name: string): Options.Options<ReadonlyArray<string>> =>
  list(name).pipe(
    Options.mapEffect((scopes) => {
      const invalid = scopes.find((scope) => !Scope.isValid(scope))
      return fromEither(
        invalid === undefined
          ? Either.right(scopes)
          : Either.left(
              `--${name}: "${invalid.slice(0, 65)}" is not a valid scope: lowercase letters, digits and _ . : - (e.g. send, emails:send, emails:*)`
            )
      )
    })
  )

/** A JSON object flag: `--metadata '{"plan":"pro"}'`. */
export const jsonObject = (name: string): Options.Options<{ readonly [key: string]: unknown }> =>
  Options.text(name).pipe(
    Options.mapEffect((text) => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        return fromEither(Either.left(`--${name}: not valid JSON; use an object such as '{"plan":"pro"}'`))
      }
      return fromEither(
        typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
          ? Either.right(parsed as { readonly [key: string]: unknown })
          : Either.left(`--${name}: must be a JSON object such as '{"plan":"pro"}'`)
      )
    })
  )
