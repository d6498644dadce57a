/**
 * `pnpm --filter @keys/example-mail-api start`: remote mode when KEYS_API_URL and KEYS_API_KEY are
 * set (a running keys API and a root key with keys:verify), else in process on DATABASE_URL.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Option } from "effect"
import * as Server from "./Server.js"

const mode = Effect.gen(function* () {
  const keysApiUrl = yield* Config.option(Config.string("KEYS_API_URL"))
  const port = yield* Config.withDefault(Config.port("MAIL_PORT"), 3000)
  if (Option.isSome(keysApiUrl)) {
    const rootKey = yield* Config.redacted("KEYS_API_KEY")
    return Server.layer({ _tag: "Remote", keysApiUrl: keysApiUrl.value, rootKey }, port)
  }
  return Server.layer({ _tag: "InProcess", databaseUrl: yield* Config.redacted("DATABASE_URL") }, port)
})

NodeRuntime.runMain(Layer.launch(Layer.unwrapEffect(mode)))
