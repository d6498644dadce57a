/**
 * The worker's edge: logging, configuration from the environment (DATABASE_URL and REDIS_URL are
 * required), launch. SIGTERM/SIGINT close it gracefully.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Effect, Layer, Logger, LogLevel, Option } from "effect"
import * as WorkerApp from "./WorkerApp.js"

const logging = Layer.unwrapEffect(
  Effect.map(
    Effect.orElseSucceed(
      Config.withDefault(Config.logLevel("KEYS_LOG_LEVEL"), LogLevel.Info),
      () => LogLevel.Info
    ),
    (level) => Layer.merge(process.stdout.isTTY ? Logger.pretty : Logger.json, Logger.minimumLogLevel(level))
  )
)

const program = Layer.launch(WorkerApp.layerConfig).pipe(
  Effect.provide(logging),
  Effect.catchAllCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.void
    const reason = Option.match(Cause.failureOption(cause), {
      onNone: () => Cause.pretty(cause),
      onSome: (error) =>
        typeof error === "object" && error !== null && "message" in error
          ? String(error.message)
          : String(error)
    })
    return Effect.sync(() => {
      process.stderr.write(`keys worker: cannot start: ${reason.split("\n")[0]}\n`)
      process.exitCode = 1
    })
  })
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
