/**
 * The API's edge: logging from KEYS_LOG_LEVEL, every layer from the environment, launch. Bad
 * configuration stops the process with one line naming the variable.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as App from "./App.js"

const logLevel = Config.withDefault(Config.logLevel("KEYS_LOG_LEVEL"), LogLevel.Info)

const logging = Layer.unwrapEffect(
  Effect.map(
    Effect.orElseSucceed(logLevel, () => LogLevel.Info),
    (level) => Layer.merge(process.stdout.isTTY ? Logger.pretty : Logger.json, Logger.minimumLogLevel(level))
  )
)

const program = Layer.launch(App.layerConfig).pipe(
  Effect.provide(logging),
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    const reason = Option.match(failure, {
      onNone: () => (Cause.isInterruptedOnly(cause) ? undefined : Cause.pretty(cause)),
      onSome: (error) =>
        typeof error === "object" && error !== null && "message" in error
          ? String(error.message)
          : String(error)
    })
    if (reason === undefined) return Effect.void
    return Effect.sync(() => {
      process.stderr.write(`keys: cannot start: ${reason.split("\n")[0]}\n`)
      process.exitCode = 1
    })
  })
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
