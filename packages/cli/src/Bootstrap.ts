/**
 * `keys bootstrap`: talks to the database directly (DATABASE_URL, or the embedded one under
 * KEYS_DATA_DIR) and prints a new root key once.
 */
import { Command, Options } from "@effect/cli"
import { ApiKeys, KeysConfig, RootKeys, SecureRandom, UsageSink } from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { Console, Effect, Layer, Redacted } from "effect"

/**
 * The database, loaded only when `bootstrap` runs: every other command talks HTTP, and loading the
 * store (and PGlite) would cost each of them seconds.
 */
const services = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() => import("@keys/postgres")),
    ({ PgStore }) =>
      ApiKeys.layerWithCompanions.pipe(
        Layer.provideMerge(UsageSink.layerDirect),
        Layer.provideMerge(PgStore.layerConfig),
        Layer.provide(Layer.mergeAll(KeyHasherLive, SecureRandom.layer, KeysConfig.layerConfig))
      )
  )
)

const team = Options.text("team").pipe(
  Options.withDefault("default"),
  Options.withDescription("the team the root key acts for")
)
const name = Options.text("name").pipe(
  Options.withDefault("Root key"),
  Options.withDescription("a label for the key")
)
const admin = Options.boolean("admin").pipe(Options.withDescription("also grant admin: act on every team"))
const json = Options.boolean("json").pipe(Options.withDescription("print the API's JSON"))

export const bootstrap: Command.Command<
  "bootstrap",
  never,
  unknown,
  { readonly team: string; readonly name: string; readonly admin: boolean; readonly json: boolean }
> = Command.make("bootstrap", { team, name, admin, json }, (options) =>
  Effect.gen(function* () {
    const created = yield* RootKeys.create({ teamId: options.team, name: options.name, admin: options.admin })
    const secret = Redacted.value(created.secret)
    if (options.json) {
      return yield* Console.log(JSON.stringify({ ...created.key, key: secret }))
    }
    yield* Console.log(
      [
        `Root key for team "${created.key.teamId}" (${created.key.scopes?.join(", ")}), shown once; store it now:`,
        "",
        `  ${secret}`,
        "",
        `  export KEYS_API_KEY=${secret}`
      ].join("\n")
    )
  }).pipe(Effect.provide(services))
).pipe(Command.withDescription("Mint a root key directly in the database and print it once."))
