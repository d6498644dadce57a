/**
 * The API commands of contract section 7 (`create`, `list`, `get`, `update`, `revoke`, `roll`,
 * `verify`), each a thin layer over the SDK: flags in, one call, the answer out as a table or, with
 * `--json`, as exactly the API's JSON.
 */
import { Args, Command, Options } from "@effect/cli"
import { ApiKey } from "@keys/core"
import { KeysApi } from "@keys/http"
import type { KeysClient } from "@keys/sdk/effect"
import { Chunk, Clock, Console, Duration, Effect, Option, Redacted, Schema, Stream } from "effect"
import { ExitCode, ExitWith, UsageError } from "./Errors.js"
import * as Format from "./Format.js"
import { client } from "./Global.js"
import * as Input from "./Input.js"

const encodeKey = Schema.encodeSync(ApiKey.ApiKey)
const encodeCreated = Schema.encodeSync(KeysApi.CreatedKey)
const encodePage = Schema.encodeSync(KeysApi.KeyPage)
const encodeVerify = Schema.encodeSync(KeysApi.VerifyResponse)

const printJson = (json: unknown) => Console.log(JSON.stringify(json))

/** Only the flags that were given, as an object with optional properties. */
const given = <A extends Record<string, Option.Option<unknown>>>(
  flags: A
): { [K in keyof A]?: A[K] extends Option.Option<infer V> ? V : never } => {
  const present: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(flags)) if (Option.isSome(value)) present[name] = value.value
  return present as { [K in keyof A]?: A[K] extends Option.Option<infer V> ? V : never }
}

const json = Options.boolean("json").pipe(Options.withDescription("print the API's JSON answer as is"))
const team = Options.text("team").pipe(
  Options.withDescription("the team to act on (default: the API key's own; another team needs admin)"),
  Options.optional
)
const environment = Options.choice("env", ["live", "test"]).pipe(Options.optional)
const id = Args.text({ name: "id" }).pipe(Args.withDescription("the key's id (key_…)"))

const createdText = (verb: string, created: KeysClient.CreatedKey, nowMillis: number): string =>
  [
    `${verb} key ${Format.keySummary(created)}; ${
      created.expiresAt === null
        ? "never expires"
        : `expires ${Format.relativeTime(created.expiresAt, nowMillis)}`
    }.`,
    "",
    `  ${Redacted.value(created.key)}`,
    "",
    "Store this secret now: it is shown only once and cannot be retrieved again."
  ].join("\n")

const withTeam = (teamId: Option.Option<string>): KeysClient.TeamOption => given({ teamId })

/** `keys create`. */
export const create = Command.make(
  "create",
  {
    name: Options.text("name").pipe(Options.withDescription("a label for the key, e.g. Production")),
    team,
    environment: environment.pipe(Options.withDescription("live (default) or test")),
    scopes: Input.scopes("scopes").pipe(
      Options.withPseudoName("a,b"),
      Options.withDescription("what the key may do, comma-separated (default: unscoped)"),
      Options.optional
    ),
    resources: Input.list("resources").pipe(
      Options.withPseudoName("x,y"),
      Options.withDescription("the only resources it may act on, comma-separated (e.g. example.com)"),
      Options.optional
    ),
    expires: Input.when("expires", { allowNever: false }).pipe(
      Options.withPseudoName("30d|DATE"),
      Options.withDescription("when it expires: a duration (30d, 24h) or an ISO date (2027-01-01T00:00:00Z)"),
      Options.optional
    ),
    metadata: Input.jsonObject("metadata").pipe(
      Options.withPseudoName("JSON"),
      Options.withDescription(`JSON object stored with the key, e.g. '{"plan":"pro"}'`),
      Options.optional
    ),
    json
  },
  (flags) =>
    Effect.gen(function* () {
      const keys = yield* client
      const now = yield* Clock.currentTimeMillis
      const created = yield* keys.create({
        name: flags.name,
        ...given({
          teamId: flags.team,
          environment: flags.environment,
          scopes: flags.scopes,
          resources: flags.resources,
          expiresAt: Option.map(flags.expires, (when) => Input.resolveWhen(when, now)),
          metadata: flags.metadata
        })
      })
      if (flags.json) return yield* printJson(encodeCreated({ ...created, key: Redacted.value(created.key) }))
      yield* Console.log(createdText("Created", created, now))
    })
).pipe(Command.withDescription("Create a key and print its secret, once."))

/** `keys list`. */
export const list = Command.make(
  "list",
  {
    team,
    status: Options.choice("status", ["active", "expired", "revoked"]).pipe(Options.optional),
    expiring: Input.duration("expiring").pipe(
      Options.withPseudoName("7d"),
      Options.withDescription("only keys expiring within this window (7d, 24h, 30m)"),
      Options.optional
    ),
    environment,
    limit: Options.integer("limit").pipe(
      Options.withDescription("keys per page, 1 to 100 (default 20)"),
      Options.optional
    ),
    cursor: Options.text("cursor").pipe(
      Options.withDescription("the page after this cursor"),
      Options.optional
    ),
    all: Options.boolean("all").pipe(Options.withDescription("follow the cursor through every page")),
    json
  },
  (flags) =>
    Effect.gen(function* () {
      const keys = yield* client
      const params: KeysClient.ListParams = given({
        teamId: flags.team,
        status: flags.status,
        expiringWithin: flags.expiring,
        environment: flags.environment,
        limit: flags.limit,
        cursor: flags.cursor
      })
      const page: KeysClient.KeyPage = flags.all
        ? { data: Chunk.toReadonlyArray(yield* Stream.runCollect(keys.listAll(params))), nextCursor: null }
        : yield* keys.list(params)
      if (flags.json) return yield* printJson(encodePage(page))
      const now = yield* Clock.currentTimeMillis
      yield* Console.log(page.data.length === 0 ? "No keys." : Format.keyTable(page.data, now))
      if (page.nextCursor !== null) {
        yield* Console.error(`More keys: keys list --cursor ${page.nextCursor} (or --all for every page)`)
      }
    })
).pipe(Command.withDescription("List keys, newest first (one page unless --all)."))

/** `keys get`. */
export const get = Command.make("get", { id, team, json }, (flags) =>
  Effect.gen(function* () {
    const key = yield* Effect.flatMap(client, (keys) => keys.get(flags.id, withTeam(flags.team)))
    if (flags.json) return yield* printJson(encodeKey(key))
    yield* Console.log(Format.keyDetails(key, yield* Clock.currentTimeMillis))
  })
).pipe(Command.withDescription("Show one key (never its secret)."))

/** `keys update`. */
export const update = Command.make(
  "update",
  {
    id,
    name: Options.text("name").pipe(Options.withDescription("a new label"), Options.optional),
    scopes: Input.scopes("scopes").pipe(
      Options.withPseudoName("a,b"),
      Options.withDescription("the new scope list, comma-separated"),
      Options.optional
    ),
    resources: Input.list("resources").pipe(
      Options.withPseudoName("x,y"),
      Options.withDescription("the new resource list, comma-separated"),
      Options.optional
    ),
    expires: Input.when("expires", { allowNever: true }).pipe(
      Options.withPseudoName("30d|DATE|never"),
      Options.withDescription("a duration from now (30d), an ISO date, or never"),
      Options.optional
    ),
    metadata: Input.jsonObject("metadata").pipe(
      Options.withPseudoName("JSON"),
      Options.withDescription("replaces the stored JSON object"),
      Options.optional
    ),
    team,
    json
  },
  (flags) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const patch: KeysClient.UpdateKeyInput = given({
        name: flags.name,
        scopes: flags.scopes,
        resources: flags.resources,
        expiresAt: Option.map(flags.expires, (when) => Input.resolveWhen(when, now)),
        metadata: flags.metadata
      })
      if (Object.keys(patch).length === 0) {
        return yield* new UsageError({
          message: "nothing to change: give --name, --scopes, --resources, --expires or --metadata"
        })
      }
      const key = yield* Effect.flatMap(client, (keys) => keys.update(flags.id, patch, withTeam(flags.team)))
      if (flags.json) return yield* printJson(encodeKey(key))
      yield* Console.log(`Updated key ${key.id}.\n\n${Format.keyDetails(key, now)}`)
    })
).pipe(Command.withDescription("Change a key's name, scopes, resources, expiry or metadata."))

/** `keys revoke`. */
export const revoke = Command.make("revoke", { id, team, json }, (flags) =>
  Effect.gen(function* () {
    const key = yield* Effect.flatMap(client, (keys) => keys.revoke(flags.id, withTeam(flags.team)))
    if (flags.json) return yield* printJson(encodeKey(key))
    yield* Console.log(`Revoked key ${Format.keySummary(key)}: it is refused everywhere from now on.`)
  })
).pipe(Command.withDescription("Revoke a key at once, everywhere (repeating it is a no-op)."))

/** `keys roll`. */
export const roll = Command.make(
  "roll",
  {
    id,
    grace: Input.duration("grace").pipe(
      Options.withPseudoName("24h"),
      Options.withDescription("how long the old key keeps working (e.g. 24h; default 0: revoked now)"),
      Options.optional
    ),
    team,
    json
  },
  (flags) =>
    Effect.gen(function* () {
      const graceMillis = Option.match(flags.grace, { onNone: () => 0, onSome: Duration.toMillis })
      if (graceMillis % 1000 !== 0) {
        return yield* new UsageError({ message: "--grace: use whole seconds or more (e.g. 30s, 24h)" })
      }
      const now = yield* Clock.currentTimeMillis
      const rolled = yield* Effect.flatMap(client, (keys) =>
        keys.roll(flags.id, { ...withTeam(flags.team), gracePeriodSeconds: graceMillis / 1000 })
      )
      if (flags.json) return yield* printJson(encodeCreated({ ...rolled, key: Redacted.value(rolled.key) }))
      const old =
        graceMillis === 0
          ? `The old key ${flags.id} is revoked.`
          : `The old key ${flags.id} keeps working until ${new Date(now + graceMillis).toISOString()} (${Format.relativeTime(new Date(now + graceMillis), now)}).`
      yield* Console.log(`${createdText("Rolled", rolled, now)}\n${old}`)
    })
).pipe(
  Command.withDescription("Replace a key with a new one with the same settings; print the new secret once.")
)

const verifyText = (result: KeysClient.VerifyResult): string => {
  if (result.valid && result.key !== undefined) {
    return `valid: key "${result.key.name}" (${result.key.id}) in team ${result.key.teamId}, ${result.key.environment}`
  }
  const details = [
    `not valid: ${result.code} (answer your caller with HTTP ${result.status})`,
    ...(result.requiredScopes === undefined ? [] : [`missing scopes: ${result.requiredScopes.join(",")}`]),
    ...(result.key === undefined ? [] : [`key: "${result.key.name}" (${result.key.id})`])
  ]
  return details.join("\n")
}

/** `keys verify`: exit 0 when the key is valid, 1 when it is not. */
export const verify = Command.make(
  "verify",
  {
    key: Args.redacted({ name: "key" }).pipe(Args.withDescription("the key to check (sk_live_…)")),
    scopes: Input.scopes("scopes").pipe(
      Options.withPseudoName("a,b"),
      Options.withDescription("scopes it must hold, comma-separated"),
      Options.optional
    ),
    resource: Options.text("resource").pipe(
      Options.withDescription("the resource it acts on"),
      Options.optional
    ),
    json
  },
  (flags) =>
    Effect.gen(function* () {
      const result = yield* Effect.flatMap(client, (keys) =>
        keys.verify(flags.key, given({ scopes: flags.scopes, resource: flags.resource }))
      )
      yield* flags.json ? printJson(encodeVerify(result)) : Console.log(verifyText(result))
      if (!result.valid) return yield* new ExitWith({ code: ExitCode.refused })
    })
).pipe(
  Command.withDescription("Check a key (optionally for scopes and a resource); exit 0 if valid, 1 if not.")
)
