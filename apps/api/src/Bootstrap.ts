/**
 * The first start of an empty database mints a root key for team `default` and prints it once;
 * `keys bootstrap` mints more on demand.
 */
import { KeyRepository, RootKeys } from "@keys/core"
import { Effect, Redacted } from "effect"

/** Mints a root key (see `RootKeys`); kept here for the API's tests and tools. */
export const createRootKey = RootKeys.create

/** On an empty store: a root key for team `default`, printed once to stdout with a curl example. */
export const onFirstStart = (baseUrl: string) =>
  Effect.gen(function* () {
    const repository = yield* KeyRepository.KeyRepository
    if (!(yield* repository.isEmpty)) return
    const created = yield* RootKeys.create({
      teamId: "default",
      name: "Root key (first start)",
      admin: false
    })
    const secret = Redacted.value(created.secret)
    process.stdout.write(
      [
        "",
        '  keys: first start on an empty database. Your root key for team "default" (shown once, store it now):',
        "",
        `    ${secret}`,
        "",
        `  Try it:  curl -s -H "Authorization: Bearer ${secret}" ${baseUrl}/v1/keys`,
        `  Or sign in at ${baseUrl}/dashboard with it.`,
        "",
        ""
      ].join("\n")
    )
  })
