import { describe, expect, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Exit, Layer, Redacted, Stream } from "effect"
import { afterAll, beforeAll } from "vitest"
import { KeysClient } from "../src/effect.js"
import { type RunningApi, startApi, uniqueTeam } from "./helpers.js"

const KEY_PATTERN = /^sk_(live|test)_[0-9A-Za-z]{48}$/

let api: RunningApi
let team: string
let rootKey: string

beforeAll(async () => {
  api = await startApi()
  team = uniqueTeam("effect")
  rootKey = await api.rootKey(team)
}, 60_000)

afterAll(() => api?.close(), 30_000)

const client = () => KeysClient.layer({ apiKey: Redacted.make(rootKey), baseUrl: api.url })
const withKey = (apiKey: string) => KeysClient.layer({ apiKey, baseUrl: api.url })

describe("KeysClient (Effect) against a running API", () => {
  it.live("runs every operation with decoded values and a redacted plaintext", () =>
    Effect.gen(function* () {
      const keys = yield* KeysClient.KeysClient
      const expiresAt = new Date(Date.now() + 7 * 86_400_000)
      const created = yield* keys.create({ name: "Effectful", scopes: ["send"], expiresAt })
      expect(Redacted.value(created.key)).toMatch(KEY_PATTERN)
      expect(String(created.key)).not.toMatch(KEY_PATTERN)
      expect(created.expiresAt).toEqual(expiresAt)
      expect(created.createdAt).toBeInstanceOf(Date)

      const fetched = yield* keys.get(created.id)
      expect(fetched).toMatchObject({ id: created.id, name: "Effectful", status: "active" })

      const updated = yield* keys.update(created.id, { metadata: { owner: "ops" } })
      expect(updated.metadata).toEqual({ owner: "ops" })

      const result = yield* keys.verify(created.key, { scopes: ["send"] })
      expect(result).toMatchObject({ valid: true, code: "valid", status: 200 })
      expect(result.key?.id).toBe(created.id)
      const underScoped = yield* keys.verify(Redacted.value(created.key), { scopes: ["admin:all"] })
      expect(underScoped).toMatchObject({
        valid: false,
        code: "insufficient_scope",
        requiredScopes: ["admin:all"]
      })

      const rolled = yield* keys.roll(created.id)
      expect(rolled.id).not.toBe(created.id)
      expect((yield* keys.verify(created.key)).code).toBe("invalid_api_key")

      const page = yield* keys.list({ limit: 100 })
      expect(page.data.map((key) => key.id)).toContain(rolled.id)

      const revoked = yield* keys.revoke(rolled.id)
      expect(revoked.status).toBe("revoked")
      expect(revoked.revokedAt).toBeInstanceOf(Date)
    }).pipe(Effect.provide(client()))
  )

  it.live(
    "fails with tagged errors: AuthenticationError, PermissionError, NotFoundError, ValidationError",
    () =>
      Effect.gen(function* () {
        const unauthenticated = yield* Effect.flip(
          Effect.flatMap(KeysClient.KeysClient, (keys) => keys.list()).pipe(
            Effect.provide(withKey("sk_live_nope"))
          )
        )
        expect(unauthenticated).toMatchObject({
          _tag: "AuthenticationError",
          status: 401,
          code: "invalid_api_key"
        })
        expect(unauthenticated.requestId).toMatch(/^req_/)

        const reader = yield* Effect.promise(() => api.keyWith(team, ["keys:read"]))
        const forbidden = yield* Effect.flip(
          Effect.flatMap(KeysClient.KeysClient, (keys) => keys.create({ name: "no" })).pipe(
            Effect.provide(withKey(reader))
          )
        )
        expect(forbidden).toMatchObject({
          _tag: "PermissionError",
          status: 403,
          requiredScopes: ["keys:write"]
        })

        const keys = yield* KeysClient.KeysClient.pipe(Effect.provide(client()))
        const missing = yield* Effect.flip(keys.get("key_none"))
        expect(missing).toMatchObject({ _tag: "NotFoundError", status: 404, code: "not_found" })

        const invalid = yield* Effect.flip(keys.create({ name: "   " }))
        expect(invalid).toMatchObject({ _tag: "ValidationError", status: 400, field: "name" })

        const handled = yield* keys.get("key_none").pipe(
          Effect.as("found"),
          Effect.catchTag("NotFoundError", () => Effect.succeed("absent"))
        )
        expect(handled).toBe("absent")
      })
  )

  it.live("streams every key across pages with listAll", () =>
    Effect.gen(function* () {
      const streamTeam = uniqueTeam("stream")
      const root = yield* Effect.promise(() => api.rootKey(streamTeam))
      const layer = withKey(root)
      const keys = yield* KeysClient.KeysClient.pipe(Effect.provide(layer))
      yield* Effect.forEach(
        Array.from({ length: 45 }, (_, i) => i),
        (i) => keys.create({ name: `k${i}` }),
        {
          concurrency: 5
        }
      )
      const all = yield* Stream.runCollect(keys.listAll({ limit: 10 }))
      // The stream's own root key is a key of the team too.
      expect(Chunk.size(all)).toBe(46)
      expect(new Set(Chunk.toReadonlyArray(all).map((key) => key.id)).size).toBe(46)
    })
  )

  it.live("layerConfig reads KEYS_API_KEY and KEYS_API_URL and names a missing variable", () =>
    Effect.gen(function* () {
      const fromEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
        KeysClient.layerConfig.pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries))))
        )
      const page = yield* Effect.flatMap(KeysClient.KeysClient, (keys) => keys.list({ limit: 1 })).pipe(
        Effect.provide(
          fromEnv([
            ["KEYS_API_KEY", rootKey],
            ["KEYS_API_URL", api.url]
          ])
        )
      )
      expect(page.data).toHaveLength(1)

      const missing = yield* Effect.exit(Effect.provide(KeysClient.KeysClient, fromEnv([])))
      expect(Exit.isFailure(missing)).toBe(true)
      expect(String(Exit.isFailure(missing) ? missing.cause : "")).toContain("KEYS_API_KEY")

      const badUrl = yield* Effect.exit(
        Effect.provide(
          KeysClient.KeysClient,
          fromEnv([
            ["KEYS_API_KEY", rootKey],
            ["KEYS_API_URL", "nowhere"]
          ])
        )
      )
      expect(String(Exit.isFailure(badUrl) ? badUrl.cause : "")).toContain("KEYS_API_URL")
      expect(String(Exit.isFailure(badUrl) ? badUrl.cause : "")).not.toContain(rootKey)
    })
  )
})
