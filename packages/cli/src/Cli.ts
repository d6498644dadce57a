/**
 * The `keys` command tree and `main`, which runs it on a command line and answers the exit code of
 * contract section 7, having printed one line to stderr for any failure.
 */
import { createRequire } from "node:module"
import { Command, ValidationError } from "@effect/cli"
import { Redaction } from "@keys/core"
import { type ClientError, isClientError } from "@keys/sdk/effect"
import { Cause, Console, Effect, Option } from "effect"
import { bootstrap } from "./Bootstrap.js"
import { create, get, list, revoke, roll, update, verify } from "./Commands.js"
import { ExitCode } from "./Errors.js"
import { hoistGlobalOptions, root } from "./Global.js"

const { version } = createRequire(import.meta.url)("../package.json") as { readonly version: string }

/** Forgets the precise failure types (they belong to other packages); `main` handles any failure. */
const anyFailure = <Name extends string, R, A>(
  command: Command.Command<Name, R, unknown, A>
): Command.Command<Name, R, unknown, A> => command

/** The whole tree: `keys [--api-url U] [--api-key K] <command> …`. */
export const keys = anyFailure(
  root.pipe(
    Command.withDescription("Issue, verify and manage API keys."),
    Command.withSubcommands([create, list, get, update, revoke, roll, verify, bootstrap])
  )
)

/** Runs the tree on `argv` (`[runtime, script, ...args]`); failures are left to the caller. */
export const run = Command.run(keys, { name: "keys", version })

const exitCodeOf = (error: ClientError): ExitCode => {
  switch (error._tag) {
    case "AuthenticationError":
      return ExitCode.authentication
    case "PermissionError":
      return ExitCode.permission
    case "NotFoundError":
    case "ValidationError":
    case "RateLimitError":
      return ExitCode.refused
    case "KeysError":
      return ExitCode.unavailable
  }
}

const describe = (error: ClientError): string => {
  const request = error.requestId === undefined ? "" : ` (request ${error.requestId})`
  switch (error._tag) {
    case "AuthenticationError":
      return `authentication failed (${error.code}): ${error.message}${request}`
    case "PermissionError":
      return `permission denied (${error.code}): ${error.message}${request}`
    case "NotFoundError":
      return `not found: ${error.message}${request}`
    case "ValidationError":
      return `refused (${error.code}): ${error.message}${request}`
    case "RateLimitError":
      return `rate limited: ${error.message}${error.retryAfter === undefined ? "" : ` Retry in ${error.retryAfter}s.`}${request}`
    case "KeysError":
      return `${error.message}${request}`
  }
}

const firstLine = (text: string) => text.split("\n")[0] ?? text

const fail = (code: ExitCode, message: string) =>
  Effect.as(Console.error(`keys: ${firstLine(Redaction.redactSecrets(message))}`), code)

/** The exit code for how a run ended, after printing what went wrong (once). */
export const exitCodeFor = (cause: Cause.Cause<unknown>): Effect.Effect<ExitCode | 130> => {
  if (Cause.isInterruptedOnly(cause)) return Effect.succeed(130)
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return fail(ExitCode.unavailable, `unexpected failure: ${Cause.pretty(cause)}`)
  const error = failure.value
  // @effect/cli has printed the usage problem already; printing it again would show it twice.
  if (ValidationError.isValidationError(error)) return Effect.succeed(ExitCode.usage)
  if (isClientError(error)) return fail(exitCodeOf(error), describe(error))
  if (typeof error === "object" && error !== null && "_tag" in error) {
    if (error._tag === "ExitWith") return Effect.succeed((error as unknown as { code: ExitCode }).code)
    if (error._tag === "UsageError")
      return fail(ExitCode.usage, String((error as { message?: unknown }).message))
  }
  const message =
    typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
  return fail(ExitCode.unavailable, message)
}

/** Runs the CLI and answers its exit code; global options may come after the subcommand. */
export const main = (argv: ReadonlyArray<string>) =>
  run(hoistGlobalOptions(argv)).pipe(
    Effect.as(ExitCode.ok as ExitCode | 130),
    Effect.catchAllCause(exitCodeFor)
  )
