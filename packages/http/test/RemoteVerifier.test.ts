import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpServer } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import {
  ConfigProvider,
  Duration,
  Effect,
  Either,
  Exit,
  HashMap,
  Layer,
  Logger,
  type LogLevel,
  Redacted,
  Schema
} from "effect"
import { ApiErrors, KeyAuth, RemoteVerifier } from "../src/index.js"
import {
  closedBaseUrl,
  DOMAIN,
  type Seeded,
  type StubServer,
  seed,
  startServerAnswering,
  startSilentServer,
  startStubKeysApi,
  TEAM
} from "./fixtures.js"

let seeded: Seeded
let api: StubServer
let silent: StubServer

beforeAll(async () => {
  seeded = await seed()
  api = await startStubKeysApi(seeded)
  silent = await startSilentServer()
})

afterAll(async () => {
  await api?.close()
  await silent?.close()
  await seeded?.runtime.dispose()
})

interface LogLine {
  readonly level: LogLevel.LogLevel["label"]
  readonly text: string
  readonly annotations: Record<string, unknown>
}

/** Runs `f` with a verifier over a real `fetch`, collecting every log line it writes. */
const withVerifier = <A, E>(
  options: Partial<RemoteVerifier.Options>,
  f: (verifier: KeyAuth.KeyVerifier["Type"], logs: ReadonlyArray<LogLine>) => Effect.Effect<A, E>
): Effect.Effect<A, E> => {
  const logs: Array<LogLine> = []
  const collect = Logger.make<unknown, void>(({ annotations, logLevel, message }) => {
    logs.push({
      level: logLevel.label,
      text: JSON.stringify(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return Effect.flatMap(KeyAuth.KeyVerifier, (verifier) => f(verifier, logs)).pipe(
    Effect.provide(
      RemoteVerifier.layer({ baseUrl: api.baseUrl, apiKey: Redacted.make(seeded.tokens.root), ...options })
    ),
    Effect.provide(Logger.replace(Logger.defaultLogger, collect))
  )
}

const token = (plaintext: string) => Redacted.make(plaintext)

const expectNoToken = (...texts: ReadonlyArray<unknown>) => {
  const text = JSON.stringify(texts)
  for (const secret of seeded.allTokens) expect(text).not.toContain(secret)
}

const expectUnavailable = (exit: Exit.Exit<unknown, ApiErrors.ServiceUnavailable>) => {
  expect(Exit.isFailure(exit)).toBe(true)
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail")
    throw new Error("expected a ServiceUnavailable failure")
  expect(exit.cause.error).toBeInstanceOf(ApiErrors.ServiceUnavailable)
  expect(exit.cause.error.code).toBe("service_unavailable")
  expect(exit.cause.error.message).toBe(ApiErrors.messages.unavailable)
  expectNoToken(exit.cause.error.message, exit.cause.error)
}

describe("RemoteVerifier against the keys API", () => {
  it.live("answers valid with the key, its dates decoded", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        const outcome = yield* verifier.verify(token(seeded.tokens.sender), {
          scopes: ["send"],
          resource: DOMAIN
        })
        expect(outcome).toMatchObject({ valid: true, code: "valid" })
        expect(outcome.key?.id).toBe(seeded.tokens.senderId)
        expect(outcome.key?.teamId).toBe(TEAM)
        expect(outcome.key?.createdAt).toBeInstanceOf(Date)
      })
    )
  )

  it.live("answers invalid_api_key for unknown, revoked and malformed keys", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        for (const plaintext of [seeded.tokens.unknown, seeded.tokens.revoked, "nonsense"]) {
          const outcome = yield* verifier.verify(token(plaintext))
          expect(outcome).toMatchObject({ valid: false, code: "invalid_api_key" })
          expect(outcome.key).toBeUndefined()
        }
      })
    )
  )

  it.live("answers key_expired for an expired key", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        const outcome = yield* verifier.verify(token(seeded.tokens.expired))
        expect(outcome).toMatchObject({ valid: false, code: "key_expired" })
      })
    )
  )

  it.live("answers insufficient_scope with the required scopes", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        const outcome = yield* verifier.verify(token(seeded.tokens.reader), { scopes: ["read", "send"] })
        expect(outcome).toMatchObject({ valid: false, code: "insufficient_scope", requiredScopes: ["send"] })
      })
    )
  )

  it.live("answers resource_not_allowed outside the key's resources", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        const outcome = yield* verifier.verify(token(seeded.tokens.sender), { resource: "other.example" })
        expect(outcome).toMatchObject({ valid: false, code: "resource_not_allowed" })
      })
    )
  )

  it.live("checks teamId itself, since the API's request has no such field", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        expect((yield* verifier.verify(token(seeded.tokens.sender), { teamId: TEAM })).code).toBe("valid")
        const elsewhere = yield* verifier.verify(token(seeded.tokens.sender), { teamId: "team_other" })
        expect(elsewhere).toEqual({ valid: false, code: "invalid_api_key" })
      })
    )
  )

  it.live("answers malformed scopes and resources as the core would, not as a 503", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        // The API answers 400 to these; a resource often comes from the client's own request.
        const restricted = yield* verifier.verify(token(seeded.tokens.sender), { resource: "not a domain" })
        expect(restricted.code).toBe("resource_not_allowed")
        const unrestricted = yield* verifier.verify(token(seeded.tokens.reader), { resource: "not a domain" })
        expect(unrestricted.code).toBe("valid")
        const scoped = yield* verifier.verify(token(seeded.tokens.reader), { scopes: ["read", "Send Mail"] })
        expect(scoped).toMatchObject({ code: "insufficient_scope", requiredScopes: ["Send Mail"] })
      })
    )
  )

  it.live("refuses a token longer than any key without calling the API", () =>
    withVerifier({}, (verifier) =>
      Effect.gen(function* () {
        const before = api.requests()
        expect((yield* verifier.verify(token("x".repeat(4096)))).code).toBe("invalid_api_key")
        expect(api.requests()).toBe(before)
      })
    )
  )
})

describe("RemoteVerifier when it gets no usable answer", () => {
  it.live("answers 503 when its own root key is refused, logging it once with status and code", () =>
    withVerifier({ apiKey: Redacted.make(seeded.tokens.rootWithoutVerify) }, (verifier, logs) =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < 3; attempt++)
          expectUnavailable(yield* Effect.exit(verifier.verify(token(seeded.tokens.sender))))
        const errors = logs.filter((line) => line.level === "ERROR")
        expect(errors).toHaveLength(1)
        expect(errors[0]?.annotations).toEqual({ status: 403, code: "insufficient_scope" })
        expectNoToken(logs)
      })
    )
  )

  it.live("answers 503 for an unknown root key (401 invalid_api_key)", () =>
    withVerifier({ apiKey: Redacted.make(seeded.tokens.unknown) }, (verifier, logs) =>
      Effect.gen(function* () {
        expectUnavailable(yield* Effect.exit(verifier.verify(token(seeded.tokens.sender))))
        expect(logs.find((line) => line.level === "ERROR")?.annotations).toEqual({
          status: 401,
          code: "invalid_api_key"
        })
        expectNoToken(logs)
      })
    )
  )

  it.live("answers 503 when the API is down", () =>
    Effect.gen(function* () {
      const baseUrl = yield* Effect.promise(closedBaseUrl)
      yield* withVerifier({ baseUrl }, (verifier, logs) =>
        Effect.gen(function* () {
          expectUnavailable(yield* Effect.exit(verifier.verify(token(seeded.tokens.sender))))
          expect(logs.map((line) => line.annotations.reason)).toEqual(["unreachable"])
          expectNoToken(logs)
        })
      )
    })
  )

  it.live("answers 503 within the timeout when the API never answers", () =>
    withVerifier({ baseUrl: silent.baseUrl, timeout: Duration.millis(200) }, (verifier, logs) =>
      Effect.gen(function* () {
        const [elapsed, exit] = yield* Effect.timed(Effect.exit(verifier.verify(token(seeded.tokens.sender))))
        expectUnavailable(exit)
        expect(Duration.toMillis(elapsed)).toBeGreaterThanOrEqual(190)
        expect(Duration.toMillis(elapsed)).toBeLessThan(2_000)
        expect(logs.map((line) => line.annotations.reason)).toEqual(["timeout"])
        expectNoToken(logs)
      })
    )
  )

  it.live("answers 503 for an error status and for a 200 it cannot decode", () =>
    Effect.gen(function* () {
      for (const [status, body] of [
        [500, ApiErrors.body("internal_error", "boom")],
        [200, "<html>a proxy page</html>"],
        [200, JSON.stringify({ valid: true, code: "valid", status: 200 })]
      ] as const) {
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => startServerAnswering(status, body)),
          (server) => Effect.promise(server.close)
        )
        yield* withVerifier({ baseUrl: server.baseUrl }, (verifier) =>
          Effect.map(Effect.exit(verifier.verify(token(seeded.tokens.sender))), expectUnavailable)
        )
      }
    }).pipe(Effect.scoped)
  )
})

describe("KeyAuth over RemoteVerifier", () => {
  class PingApi extends HttpApi.make("ping").add(
    HttpApiGroup.make("ping")
      .add(HttpApiEndpoint.get("ping", "/ping").addSuccess(Schema.Struct({ keyId: Schema.String })))
      .middleware(KeyAuth.KeyAuth)
  ) {}

  const serve = (baseUrl: string) => {
    const PingLive = HttpApiBuilder.group(PingApi, "ping", (handlers) =>
      handlers.handle("ping", () => Effect.map(KeyAuth.CurrentKey, (key) => ({ keyId: key.id })))
    )
    return HttpApiBuilder.toWebHandler(
      HttpApiBuilder.api(PingApi).pipe(
        Layer.provide(PingLive),
        Layer.provide(KeyAuth.layer),
        Layer.provide(RemoteVerifier.layer({ baseUrl, apiKey: Redacted.make(seeded.tokens.root) })),
        Layer.provide(Logger.replace(Logger.defaultLogger, Logger.none)),
        Layer.merge(HttpServer.layerContext)
      )
    )
  }

  const ping = async (web: ReturnType<typeof serve>, plaintext: string) => {
    const response = await web.handler(
      new Request("http://service.test/ping", { headers: { authorization: `Bearer ${plaintext}` } })
    )
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }

  it("guards a service with a key verified by the keys API", async () => {
    const web = serve(api.baseUrl)
    try {
      expect(await ping(web, seeded.tokens.sender)).toEqual({
        status: 200,
        body: { keyId: seeded.tokens.senderId }
      })
      expect(await ping(web, seeded.tokens.revoked)).toMatchObject({
        status: 401,
        body: { code: "invalid_api_key" }
      })
      expect(await ping(web, seeded.tokens.expired)).toMatchObject({
        status: 401,
        body: { code: "key_expired" }
      })
    } finally {
      await web.dispose()
    }
  })

  it("answers 503 service_unavailable when the keys API is down", async () => {
    const web = serve(await closedBaseUrl())
    try {
      const answer = await ping(web, seeded.tokens.sender)
      expect(answer).toMatchObject({
        status: 503,
        body: { code: "service_unavailable", message: ApiErrors.messages.unavailable }
      })
      expectNoToken(answer)
    } finally {
      await web.dispose()
    }
  })
})

describe("RemoteVerifier.config", () => {
  const load = (entries: ReadonlyArray<readonly [string, string]>) =>
    RemoteVerifier.config.pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries))),
      Effect.either
    )

  it.effect("reads KEYS_API_KEY redacted and defaults KEYS_API_URL", () =>
    Effect.gen(function* () {
      const options = Either.getOrThrow(yield* load([["KEYS_API_KEY", "sk_live_root"]]))
      expect(options.baseUrl).toBe(RemoteVerifier.DEFAULT_BASE_URL)
      expect(Redacted.value(options.apiKey)).toBe("sk_live_root")
      expect(String(options.apiKey)).not.toContain("sk_live_root")
    })
  )

  it.effect("fails naming the variable when KEYS_API_KEY is missing or KEYS_API_URL is not a URL", () =>
    Effect.gen(function* () {
      const missing = yield* load([])
      expect(Either.isLeft(missing) && String(missing.left)).toContain("KEYS_API_KEY")
      const badUrl = yield* load([
        ["KEYS_API_KEY", "sk_live_root"],
        ["KEYS_API_URL", "keys.internal:8080"]
      ])
      expect(Either.isLeft(badUrl) && String(badUrl.left)).toContain("KEYS_API_URL")
      expect(Either.isLeft(badUrl) && String(badUrl.left)).not.toContain("sk_live_root")
    })
  )
})
