/**
 * A short tour of the core: create a key, verify it, revoke it, verify again. In-memory store.
 * Run with `pnpm --filter @keys/core demo`.
 */
import { Console, Effect, Redacted } from "effect"
import { ApiKeys } from "../src/index.js"
import { TestKeys } from "../src/testing/index.js"

const program = Effect.gen(function* () {
  const keys = yield* ApiKeys.ApiKeys
  const created = yield* keys.create({ teamId: "team_demo", name: "Demo", scopes: ["send"] })
  yield* Console.log(
    `created ${created.key.id} (${created.key.start}…), secret shown once: ${Redacted.value(created.secret)}`
  )
  const ok = yield* keys.verify(created.secret, { scopes: ["send"] })
  yield* Console.log(`verify with scope send  → ${ok.code}`)
  const denied = yield* keys.verify(created.secret, { scopes: ["read"] })
  yield* Console.log(
    `verify with scope read  → ${denied.code} (missing ${denied.requiredScopes?.join(", ")})`
  )
  yield* keys.revoke("team_demo", created.key.id)
  const revoked = yield* keys.verify(created.secret)
  yield* Console.log(`verify after revoke     → ${revoked.code}`)
})

Effect.runPromise(Effect.scoped(Effect.provide(program, TestKeys.layer())))
