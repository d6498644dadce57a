/**
 * The root `keys` command and its global options, `--api-url` and `--api-key` (falling back to
 * `KEYS_API_URL` and `KEYS_API_KEY`), and the SDK client every API command is built on.
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { FetchHttpClient } from "@effect/platform"
import { AuthenticationError, KeysClient } from "@keys/sdk/effect"
import { Config, Effect, Option, Redacted } from "effect"

const apiUrl = Options.text("api-url").pipe(
  Options.withFallbackConfig(Config.string("KEYS_API_URL")),
  Options.withDefault(KeysClient.DEFAULT_BASE_URL),
  Options.mapEffect((url) =>
    URL.canParse(url)
      ? Effect.succeed(url)
      : Effect.fail(
          ValidationError.invalidValue(
            HelpDoc.p(
              `--api-url (or KEYS_API_URL): "${url.slice(0, 80)}" is not a URL such as http://127.0.0.1:8080`
            )
          )
        )
  ),
  Options.withDescription("the keys API (default: KEYS_API_URL, else http://127.0.0.1:8080)")
)

const apiKey = Options.redacted("api-key").pipe(
  Options.withFallbackConfig(Config.redacted("KEYS_API_KEY")),
  Options.optional,
  Options.withDescription(
    "a root key (default: KEYS_API_KEY; prefer the variable, flags end up in shell history)"
  )
)

/** `keys`, before its subcommands are attached: the subcommands read its options from it. */
export const root = Command.make("keys", { apiUrl, apiKey })

/** Global options that @effect/cli only reads before the subcommand; `hoist` moves them there. */
const GLOBAL_FLAGS = ["--api-url", "--api-key"] as const

/**
 * Moves `--api-url X`, `--api-key X` (and their `=` forms) found after the subcommand to the front,
 * so that `keys list --api-key …` works like `keys --api-key … list`. Stops at `--`.
 */
export const hoistGlobalOptions = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [runtime, script, ...args] = argv
  const globals: Array<string> = []
  const rest: Array<string> = []
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!
    if (arg === "--") {
      rest.push(...args.slice(index))
      break
    }
    const flag = GLOBAL_FLAGS.find((name) => arg === name || arg.startsWith(`${name}=`))
    if (flag !== undefined && arg === flag && index + 1 < args.length) {
      globals.push(arg, args[index + 1]!)
      index++
    } else if (flag !== undefined && arg !== flag) {
      globals.push(arg)
    } else {
      rest.push(arg)
    }
  }
  return [runtime ?? "node", script ?? "keys", ...globals, ...rest]
}

/** The SDK client from the global options; without a key, the authentication failure (exit 3). */
export const client: Effect.Effect<
  KeysClient.Client,
  AuthenticationError,
  Command.Command.Context<"keys">
> = Effect.gen(function* () {
  const options = yield* root
  const key = Option.filter(options.apiKey, (value) => Redacted.value(value).trim().length > 0)
  if (Option.isNone(key)) {
    return yield* new AuthenticationError({
      status: 0,
      code: "missing_api_key",
      message: "No API key: set KEYS_API_KEY or pass --api-key (keys bootstrap prints a root key).",
      requestId: undefined
    })
  }
  return yield* KeysClient.make({ apiKey: key.value, baseUrl: options.apiUrl }).pipe(
    Effect.provide(FetchHttpClient.layer)
  )
})
