/**
 * Hostile input, generated with fast-check, against the API run as its own process: random and
 * mutated tokens, Authorization headers, other headers, JSON and non-JSON bodies, query strings,
 * ids and paths, for every endpoint. More than 100 000 requests in all, most of them on the lean
 * verification path (fast), many on the HttpApi endpoints. Every answer is a documented status
 * with the contract's `{code, message}` body, never a 5xx, never a dropped connection; no response
 * and no log line holds a plaintext key (or 24 characters of one) beyond the create/roll response
 * that mints it; the process never crashes.
 *
 * Then a timing check: verifying a token that shares 40 leading characters with a real key takes
 * as long as one that shares none.
 */
import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { call, mapConcurrently, type Reply, type Request, send } from "./support/Client.js"
import { type ApiProcess, startApi } from "./support/Processes.js"
import { KEY_SHAPED, mask, SecretLedger, withoutBanner } from "./support/Secrets.js"
import { createDatabase, type Database } from "./support/Services.js"
import { BASE62, PREFIX_LENGTH, RANDOM_LENGTH, sharingPrefix, withChecksum } from "./support/Tokens.js"

/** Cases per surface: 100 000 in all, two thirds of them on the lean verification path. */
const CASES = {
  verify: 40_000,
  auth: 28_000,
  create: 6_000,
  list: 4_000,
  byId: 8_000,
  roll: 2_000,
  audit: 3_000,
  system: 1_500,
  routes: 4_500,
  dashboard: 3_000
} as const
const CONCURRENCY = 32
const SEED = Number(process.env.TEST_FUZZ_SEED ?? Date.now() % 2 ** 31)

/** The contract's error codes by status (section 3): the only non-2xx answers allowed. */
const DOCUMENTED: Readonly<Record<number, ReadonlyArray<string>>> = {
  400: ["validation_error"],
  401: ["missing_api_key", "invalid_api_key", "key_expired"],
  403: ["insufficient_scope", "resource_not_allowed"],
  404: ["not_found"],
  413: ["payload_too_large"],
  429: ["rate_limited"]
}
/**
 * The dashboard's session endpoints (contract section 10, not the public API) answer a few more:
 * 401 invalid_session, 403 csrf_rejected, 405 method_not_allowed, 415 for a non-JSON sign-in.
 */
const DASHBOARD: Readonly<Record<number, ReadonlyArray<string>>> = {
  ...DOCUMENTED,
  401: [...DOCUMENTED[401]!, "invalid_session"],
  403: [...DOCUMENTED[403]!, "csrf_rejected"],
  405: ["method_not_allowed"],
  415: ["validation_error"]
}

let database: Database
let api: ApiProcess
let root: string
const ledger = new SecretLedger()
/** Keys minted for the fuzz to aim at, with their ids. */
const victims: Array<{ readonly id: string; readonly key: string }> = []
let sent = 0

beforeAll(async () => {
  database = await createDatabase()
  api = await startApi({ databaseUrl: database.url })
  root = api.rootKey!
  ledger.add(root)
  const bodies = [
    { name: "unscoped" },
    { name: "scoped", scopes: ["send", "read"] },
    { name: "restricted", scopes: ["send"], resources: ["example.com"] },
    { name: "test", environment: "test" },
    { name: "expiring", expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
    { name: "revoked" }
  ]
  for (const body of bodies) {
    const reply = await call(api.url, "POST", "/v1/keys", root, body)
    expect(reply.status, reply.text).toBe(201)
    ledger.add(reply.json.key)
    victims.push({ id: reply.json.id, key: reply.json.key })
  }
  expect((await call(api.url, "DELETE", `/v1/keys/${victims.at(-1)!.id}`, root)).status).toBe(200)
})

afterAll(async () => {
  await api?.stop()
  await database?.drop()
})

// --- arbitraries ------------------------------------------------------------------------------

/** Header values may only hold tab, printable ASCII and Latin-1 (else the client refuses to send). */
const headerSafe = (text: string): string => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, "")

/** Percent-encoded UTF-8 (lone surrogates become U+FFFD first). */
const encode = (text: string): string => encodeURIComponent(Buffer.from(text, "utf8").toString("utf8"))

const base62Char = fc.constantFrom(...BASE62)
const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: "grapheme", maxLength })
  )

/** A real key changed in one of the ways a typo, a bad copy or an attacker changes it. */
const mutatedKey = (keys: ReadonlyArray<string>) =>
  fc
    .record({
      key: fc.constantFrom(...keys),
      kind: fc.integer({ min: 0, max: 10 }),
      at: fc.nat(),
      char: fc.oneof(base62Char, fc.constantFrom(" ", "_", "-", "é", "\t", "%", "ß", "€", "\u00ff"))
    })
    .map(({ key, kind, at, char }) => {
      const i = at % key.length
      const body = key.slice(PREFIX_LENGTH)
      switch (kind) {
        case 0: // one character changed: the checksum no longer matches
          return key.slice(0, i) + (key[i] === char ? "x" : char) + key.slice(i + 1)
        case 1: {
          // one random character changed and the checksum made right: well formed, never issued
          const j = PREFIX_LENGTH + (at % RANDOM_LENGTH)
          const swapped = key[j] === "a" ? "b" : "a"
          return withChecksum(key.slice(0, j) + swapped + key.slice(j + 1, PREFIX_LENGTH + RANDOM_LENGTH))
        }
        case 2:
          return key.slice(0, i) + key.slice(i + 1)
        case 3:
          return key.slice(0, i) + char + key.slice(i)
        case 4:
          return key.slice(0, i)
        case 5:
          return (
            key.slice(0, i) +
            (key[i]!.toUpperCase() === key[i] ? key[i]!.toLowerCase() : key[i]!.toUpperCase()) +
            key.slice(i + 1)
          )
        case 6:
          return (key.startsWith("sk_live_") ? "sk_test_" : "sk_live_") + body
        case 7:
          return ` ${key}\t`
        case 8:
          return key + key
        case 9:
          return key.toUpperCase()
        default:
          return `${key.slice(0, PREFIX_LENGTH)}${body.split("").reverse().join("")}`
      }
    })

/** Well formed (prefix, length, alphabet, checksum) but never issued. */
const wellFormedUnknown = fc
  .tuple(
    fc.constantFrom("sk_live_", "sk_test_"),
    fc.string({ unit: base62Char, minLength: 42, maxLength: 42 })
  )
  .map(([prefix, random]) => withChecksum(prefix + random))

const tokens = (keys: ReadonlyArray<string>) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys) },
    { weight: 6, arbitrary: mutatedKey(keys) },
    { weight: 2, arbitrary: wellFormedUnknown },
    { weight: 2, arbitrary: text(80) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: base62Char, minLength: 1, maxLength: 200 }).map((s) => `sk_live_${s}`)
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1_000, maxLength: 6_000 }) }
  )

/** Authorization headers: mostly `Bearer <token>`, also other schemes, casing, spacing, none. */
const authorization = (keys: ReadonlyArray<string>) =>
  fc
    .oneof(
      { weight: 8, arbitrary: tokens(keys).map((token) => `Bearer ${token}`) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              "bearer ",
              "BEARER ",
              "Basic ",
              "Bearer",
              "Bearer  ",
              "Token ",
              "",
              " Bearer ",
              "Bearer\t"
            ),
            tokens(keys)
          )
          .map(([scheme, token]) => scheme + token)
      },
      { weight: 1, arbitrary: text(100) }
    )
    .map((value) => (value === undefined ? undefined : headerSafe(value)))

/** Other headers a client (or an attacker) may send. Never key material: see the BUG on request ids. */
const otherHeaders = fc.record(
  {
    "content-type": fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        "application/octet-stream",
        "application/xml",
        "",
        "application/json; charset=latin1"
      ),
      text(40).map(headerSafe)
    ),
    "x-request-id": fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/), text(80).map(headerSafe)),
    accept: fc.constantFrom("*/*", "application/json", "text/html", "application/xml", ""),
    "content-encoding": fc.constantFrom("gzip", "br", "identity", "deflate"),
    "x-forwarded-for": fc.constantFrom("127.0.0.1", "::1", "10.0.0.1, 10.0.0.2", "not an ip"),
    origin: fc.constantFrom("http://evil.example", "null", "http://127.0.0.1"),
    "sec-fetch-site": fc.constantFrom("cross-site", "same-origin", "none"),
    cookie: fc.oneof(fc.constantFrom("keys_session=", "keys_session=abc"), text(60).map(headerSafe))
  },
  { requiredKeys: [] }
)

/** Scopes as a list (valid, invalid, huge) or as anything else JSON can hold. */
const scopes = fc.oneof(
  fc.array(
    fc.oneof(
      fc.constantFrom(
        "send",
        "read",
        "write",
        "keys:read",
        "keys:write",
        "keys:verify",
        "admin",
        "*",
        "emails:send",
        "",
        "a".repeat(300)
      ),
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 20 })
    ),
    { maxLength: 80 }
  ),
  fc.jsonValue({ maxDepth: 2 })
)

const jsonText = fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value))
const nested = (depth: number, leaf: string) => "[".repeat(depth) + leaf + "]".repeat(depth)

/** Bodies that are not the expected JSON object: junk JSON, bad JSON, binary, deep, huge. */
const junkBody = fc.oneof(
  { weight: 4, arbitrary: jsonText },
  { weight: 2, arbitrary: text(400) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4_000 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "{",
      '{"key": }',
      "{'key': 'x'}",
      '{"key":"x"} trailing',
      "[1,]",
      "NaN",
      "null",
      '{"__proto__":{"admin":true},"key":"x"}',
      '{"constructor":{"prototype":{"valid":true}}}',
      '{"key":"a","key":"b"}',
      "\ufeff{}",
      '{"key":"\\ud800"}',
      '{"key":"\\u0000"}'
    )
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 20, max: 5_000 }).map((depth) => `{"key":${nested(depth, "1")}}`)
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 65_537, max: 90_000 }).map((size) => `{"key":"${"a".repeat(size)}"}`)
  }
)

/** Query strings: wanted names with odd values, unknown names, broken escapes, repeats. */
const queryOf = (names: ReadonlyArray<string>, values: fc.Arbitrary<string>) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })),
            fc.oneof(values, text(200))
          ),
          {
            maxLength: 6
          }
        )
        .map((pairs) =>
          pairs.length === 0
            ? ""
            : `?${pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join("&")}`
        )
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "?",
        "?&&&",
        "?=",
        "?%",
        "?%zz=1",
        "?a=%",
        "?scopes=%E0%A4%A",
        "?limit=1&limit=2",
        "?#x",
        "?%00=%00"
      )
    }
  )

const withHeaders = (auth: string | undefined, headers: Record<string, string>): Record<string, string> => ({
  ...headers,
  ...(auth === undefined ? {} : { authorization: auth })
})

// --- the check every answer passes ------------------------------------------------------------

const ALLOWED_NAMES = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

const judge = (request: Request, reply: Reply): string | undefined => {
  if (reply.status === 0) return `no answer: ${reply.error}`
  if (reply.status >= 500) return `${reply.status}`
  const codes = request.path.startsWith("/dashboard") ? DASHBOARD : DOCUMENTED
  if (reply.status >= 400) {
    const allowed = codes[reply.status]
    if (allowed === undefined) return `undocumented status ${reply.status}`
    if (
      request.method !== "HEAD" &&
      !(allowed.includes(reply.json?.code) && typeof reply.json?.message === "string")
    ) {
      return `not the contract's error body for ${reply.status}`
    }
    if (
      request.method !== "HEAD" &&
      !String(reply.headers["content-type"] ?? "").startsWith("application/json")
    ) {
      return "error without a JSON content type"
    }
  }
  const minted =
    reply.status === 201 && typeof reply.json?.key === "string" ? (reply.json.key as string) : undefined
  if (minted !== undefined) ledger.add(minted)
  const leaks = ledger.findLeaks(
    `${reply.text}\n${JSON.stringify(reply.headers)}`,
    new Set(minted === undefined ? [] : [minted])
  )
  if (leaks.length > 0) return `plaintext key in the answer: ${leaks[0]!.context}`
  return undefined
}

const describeRequest = (request: Request): string => {
  const body = request.body === undefined ? "" : ` body ${String(request.body).slice(0, 200)}`
  return `${request.method} ${request.path.slice(0, 200)} ${JSON.stringify(request.headers ?? {}).slice(0, 300)}${body}`.replace(
    KEY_SHAPED,
    (token) => mask(token)
  )
}

/**
 * The combinations left out of the generated requests, because they are known defects with tests
 * of their own (the BUGs below): an empty body declared as multipart/form-data, and GET or HEAD on
 * /v1/auth with a trailing slash.
 */
const withoutKnownBugs = (request: Request): Request => {
  const type = request.headers?.["content-type"] ?? ""
  if (type.startsWith("multipart/") && (request.body === undefined || request.body.length === 0)) {
    return { ...request, headers: { ...request.headers, "content-type": "application/json" } }
  }
  const mark = request.path.indexOf("?")
  const path = mark === -1 ? request.path : request.path.slice(0, mark)
  if (/\/v1\/auth\/+$/.test(path) && (request.method === "GET" || request.method === "HEAD")) {
    return { ...request, path: path.replace(/\/+$/, "") + request.path.slice(path.length) }
  }
  return request
}

/** Failures per surface, with the first few examples of each. */
const failures: Array<string> = []

/** Sends every generated request and judges every answer; failures are gathered for the end. */
const fuzz = async (name: string, count: number, arbitrary: fc.Arbitrary<Request>): Promise<void> => {
  const seed = SEED + name.length * 7_919
  const requests = fc.sample(arbitrary.map(withoutKnownBugs), { numRuns: count, seed })
  const examples: Array<string> = []
  let failed = 0
  const started = Date.now()
  await mapConcurrently(requests, CONCURRENCY, async (request) => {
    const reply = await send(api.url, request)
    const problem = judge(request, reply)
    if (problem === undefined) return
    failed++
    if (examples.length < 4) {
      examples.push(
        `${problem}\n    request: ${describeRequest(request)}\n    answer: ${reply.status} ${reply.text.slice(0, 300)}`
      )
    }
  })
  sent += requests.length
  console.log(
    `hostile: ${name}: ${count} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failed} failed`
  )
  if (failed > 0)
    failures.push(`${failed} of ${count} ${name} cases failed (seed ${seed}):\n  ${examples.join("\n  ")}`)
  expect(api.alive(), `the API died during ${name}`).toBe(true)
}

// --- the tests --------------------------------------------------------------------------------

describe("hostile input (fast-check)", () => {
  it("every endpoint answers 100 000 generated requests with documented codes, no 5xx, no crash, no plaintext key", async () => {
    const keys = [root, ...victims.map((victim) => victim.key)]
    const ids = victims.map((victim) => victim.id)
    const auth = authorization(keys)

    await fuzz(
      "POST /v1/keys/verify",
      CASES.verify,
      fc
        .record({
          auth: fc.oneof(
            { weight: 3, arbitrary: fc.constant(`Bearer ${root}`) },
            { weight: 1, arbitrary: auth }
          ),
          headers: otherHeaders,
          body: fc.oneof(
            {
              weight: 5,
              arbitrary: fc
                .record(
                  {
                    key: fc.oneof(
                      { weight: 5, arbitrary: tokens(keys) },
                      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
                    ),
                    scopes,
                    resource: fc.oneof(
                      text(300),
                      fc.constantFrom("example.com", ""),
                      fc.jsonValue({ maxDepth: 1 })
                    ),
                    extra: fc.jsonValue({ maxDepth: 3 })
                  },
                  { requiredKeys: [] }
                )
                .map((body) => JSON.stringify(body))
            },
            { weight: 2, arbitrary: junkBody },
            { weight: 1, arbitrary: fc.constant(undefined) }
          )
        })
        .map(({ auth, headers, body }) => ({
          method: "POST",
          path: "/v1/keys/verify",
          headers: withHeaders(auth, headers),
          body
        }))
    )

    await fuzz(
      "GET /v1/auth",
      CASES.auth,
      fc
        .record({
          method: fc.constantFrom("GET", "GET", "GET", "HEAD"),
          auth,
          headers: otherHeaders,
          query: queryOf(
            ["scopes", "resource", "key"],
            fc.oneof(
              fc
                .array(
                  fc.constantFrom("send", "read", "keys:verify", "admin", "*", "a b", "", "x".repeat(70)),
                  { maxLength: 60 }
                )
                .map((list) => list.join(",")),
              fc.constantFrom("example.com", "", "a".repeat(254))
            )
          )
        })
        .map(({ method, auth, headers, query }) => ({
          method,
          path: `/v1/auth${query}`,
          headers: withHeaders(auth, headers)
        }))
    )

    const createBody = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .record(
            {
              name: fc.oneof(text(120), fc.jsonValue({ maxDepth: 1 })),
              teamId: fc.oneof(fc.constantFrom("default", "other", ""), text(80)),
              environment: fc.oneof(
                fc.constantFrom("live", "test", "prod", ""),
                fc.jsonValue({ maxDepth: 1 })
              ),
              scopes,
              resources: fc.oneof(fc.array(text(300), { maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })),
              expiresAt: fc.oneof(
                fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
                fc.constantFrom(
                  "2000-01-01T00:00:00Z",
                  "2999-01-01T00:00:00Z",
                  "tomorrow",
                  "",
                  "2030-02-30T00:00:00Z"
                ),
                fc.jsonValue({ maxDepth: 1 })
              ),
              metadata: fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.dictionary(text(20), text(50)))
            },
            { requiredKeys: [] }
          )
          .map((body) => JSON.stringify(body))
      },
      { weight: 1, arbitrary: junkBody }
    )
    const management = fc.oneof(
      { weight: 4, arbitrary: fc.constant(`Bearer ${root}`) },
      { weight: 1, arbitrary: auth }
    )

    await fuzz(
      "POST /v1/keys",
      CASES.create,
      fc
        .record({ auth: management, headers: otherHeaders, body: createBody })
        .map(({ auth, headers, body }) => ({
          method: "POST",
          path: "/v1/keys",
          headers: withHeaders(auth, { "content-type": "application/json", ...headers }),
          body
        }))
    )

    await fuzz(
      "GET /v1/keys",
      CASES.list,
      fc
        .record({
          auth: management,
          headers: otherHeaders,
          query: queryOf(
            ["teamId", "status", "environment", "expiringWithin", "limit", "cursor"],
            fc.oneof(
              fc.constantFrom(
                "active",
                "expired",
                "revoked",
                "live",
                "test",
                "7d",
                "24h",
                "30m",
                "0",
                "-1",
                "1",
                "100",
                "101",
                "1e3",
                "default"
              ),
              fc.integer().map(String),
              fc.base64String({ maxLength: 80 })
            )
          )
        })
        .map(({ auth, headers, query }) => ({
          method: "GET",
          path: `/v1/keys${query}`,
          headers: withHeaders(auth, headers)
        }))
    )

    // Ids: the victims' own, changed ones, random text, traversal, over-long. Never a key in the
    // path: see the BUG below.
    const id = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ids) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.constantFrom(...ids), fc.nat(), fc.constantFrom("x", "_", "%20", "%00", "%2F", "é", ""))
          .map(([id, at, char]) => id.slice(0, at % id.length) + char + id.slice((at % id.length) + 1))
      },
      { weight: 3, arbitrary: text(120).map(encode) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "..",
          ".",
          "%2e%2e",
          "key_",
          "a".repeat(101),
          "%ff",
          "..%2f..%2fetc%2fpasswd",
          "verify",
          "%",
          "a%zzb"
        )
      }
    )
    await fuzz(
      "GET, PATCH, DELETE /v1/keys/{id}",
      CASES.byId,
      fc
        .record({
          method: fc.constantFrom("GET", "PATCH", "PATCH", "DELETE", "HEAD"),
          id,
          auth: management,
          headers: otherHeaders,
          body: createBody
        })
        .map(({ method, id, auth, headers, body }) => ({
          method,
          path: `/v1/keys/${id}`,
          headers: withHeaders(auth, { "content-type": "application/json", ...headers }),
          body: method === "PATCH" ? body : undefined
        }))
    )

    await fuzz(
      "POST /v1/keys/{id}/roll",
      CASES.roll,
      fc
        .record({
          id,
          auth: management,
          headers: otherHeaders,
          body: fc.oneof(
            fc
              .record(
                {
                  gracePeriodSeconds: fc.oneof(
                    fc.integer(),
                    fc.double(),
                    fc.constantFrom(0, -1, 2_592_000, 2_592_001, 1e308, "60", null, true)
                  )
                },
                { requiredKeys: [] }
              )
              .map((body) => JSON.stringify(body)),
            junkBody
          )
        })
        .map(({ id, auth, headers, body }) => ({
          method: "POST",
          path: `/v1/keys/${id}/roll`,
          headers: withHeaders(auth, { "content-type": "application/json", ...headers }),
          body
        }))
    )

    await fuzz(
      "GET /v1/audit",
      CASES.audit,
      fc
        .record({
          auth: management,
          headers: otherHeaders,
          query: queryOf(
            ["keyId", "teamId", "limit", "cursor"],
            fc.oneof(fc.constantFrom(...ids, "default", "0", "101", "20"), fc.base64String({ maxLength: 80 }))
          )
        })
        .map(({ auth, headers, query }) => ({
          method: "GET",
          path: `/v1/audit${query}`,
          headers: withHeaders(auth, headers)
        }))
    )

    await fuzz(
      "system endpoints",
      CASES.system,
      fc
        .record({
          path: fc.constantFrom("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"),
          method: fc.constantFrom("GET", "HEAD", "POST", "DELETE"),
          auth,
          headers: otherHeaders,
          query: queryOf(["format", "x"], text(50))
        })
        .map(({ path, method, auth, headers, query }) => ({
          method,
          path: `${path}${query}`,
          headers: withHeaders(auth, headers)
        }))
    )

    await fuzz(
      "unknown routes and methods",
      CASES.routes,
      fc
        .record({
          method: fc.oneof(
            fc.constantFrom(...ALLOWED_NAMES),
            fc.constantFrom("PROPFIND", "TRACE", "FOO", "get")
          ),
          segments: fc.array(
            fc.oneof(
              fc.constantFrom("v1", "keys", "verify", "auth", "audit", "roll", "v2", "", "..", "%2e%2e", "%"),
              text(30).map(encode)
            ),
            { maxLength: 6 }
          ),
          auth,
          headers: otherHeaders,
          body: fc.option(junkBody, { nil: undefined })
        })
        .map(({ method, segments, auth, headers, body }) => ({
          method,
          path: `/${segments.join("/")}`.replace(/^\/dashboard/, "/x"),
          headers: withHeaders(auth, headers),
          body: method === "GET" || method === "HEAD" ? undefined : body
        }))
    )

    // The dashboard's session API, without and with a session (signed in with the root key).
    const signIn = await send(api.url, {
      method: "POST",
      path: "/dashboard/api/session",
      headers: { "content-type": "application/json", "x-keys-dashboard": "1" },
      body: JSON.stringify({ key: root })
    })
    expect(signIn.status, signIn.text).toBe(200)
    const session = String(signIn.headers["set-cookie"] ?? "").split(";")[0]!
    await fuzz(
      "dashboard API",
      CASES.dashboard,
      fc
        .record({
          method: fc.constantFrom("GET", "POST", "DELETE", "PATCH", "PUT"),
          path: fc.oneof(
            fc.constantFrom(
              "/dashboard/api/session",
              "/dashboard/api/v1/keys",
              "/dashboard/api/v1/audit",
              "/dashboard/api/nope"
            ),
            id.map((id) => `/dashboard/api/v1/keys/${id}`)
          ),
          csrf: fc.constantFrom<Record<string, string>>({ "x-keys-dashboard": "1" }, {}),
          cookie: fc.oneof(
            fc.constant(session),
            fc.constant(""),
            text(40).map((value) => `keys_session=${headerSafe(value)}`)
          ),
          headers: otherHeaders,
          body: fc.oneof(
            tokens(keys.slice(1)).map((key) => JSON.stringify({ key })),
            createBody
          )
        })
        .map(({ method, path, csrf, cookie, headers, body }) => ({
          method,
          path,
          // Never DELETE the session the fuzz itself uses: sign-out would end it for the rest.
          headers: {
            ...headers,
            ...csrf,
            "content-type": "application/json",
            cookie: method === "DELETE" && cookie === session ? "" : cookie
          },
          // Signing in with the root key again works and starts another session: keep to the others.
          body: method === "GET" || method === "DELETE" ? undefined : body
        }))
    )

    expect(failures).toEqual([])
    expect(sent).toBeGreaterThanOrEqual(100_000)
    // Never a crash, never a defect logged, never a key in the log.
    expect(api.alive()).toBe(true)
    expect((await send(api.url, { method: "GET", path: "/healthz" })).status).toBe(200)
    const output = withoutBanner(api.output(), root)
    const defects = output
      .split("\n")
      .filter((line) => /"(logLevel|level)":"(ERROR|FATAL)"|Uncaught|RangeError|TypeError/.test(line))
    expect(defects.slice(0, 5)).toEqual([])
    expect(ledger.findLeaks(output).slice(0, 5)).toEqual([])
    console.log(`hostile: ${sent} generated requests (seed ${SEED}); ${ledger.size} keys minted on the way`)
  })

  /**
   * Why the time cannot depend on how much of a token matches a stored key: nothing ever compares
   * a token with a stored one. Every token is parsed (prefix, fixed length, alphabet, CRC32) over
   * all its characters, then hashed whole with SHA-256, and the hash is what the cache (a Map) and
   * the store (a unique btree index on `hash`) are searched by. Two tokens that share 40 leading
   * characters have unrelated hashes, so neither lookup gets any further for them than for tokens
   * that share none. The bound is generous: this machine is shared and noisy.
   */
  it("verification time does not depend on how much of a token matches a real key", async () => {
    const created = await call(api.url, "POST", "/v1/keys", root, { name: "timing" })
    expect(created.status).toBe(201)
    const real: string = created.json.key
    ledger.add(real)
    expect((await call(api.url, "GET", "/v1/auth", real)).status).toBe(200)
    const measure = async (tokens: ReadonlyArray<string>) => {
      const times: Array<number> = []
      for (const token of tokens) {
        const reply = await call(api.url, "GET", "/v1/auth", token)
        expect(reply.status).toBe(401)
        times.push(reply.ms)
      }
      return times
    }
    const median = (values: ReadonlyArray<number>) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
    const SAMPLES = 1_200
    await measure(Array.from({ length: 300 }, () => sharingPrefix(real, 20)))
    const none = Array.from({ length: SAMPLES }, () => sharingPrefix(real, 0))
    const forty = Array.from({ length: SAMPLES }, () => sharingPrefix(real, 40))
    /** One of each class in turn, in a random order, so drift on the machine affects both alike. */
    const interleaved = async () => {
      const times = { none: [] as Array<number>, forty: [] as Array<number> }
      for (let i = 0; i < SAMPLES; i++) {
        const noneFirst = Math.random() < 0.5
        const [first, second] = await measure(noneFirst ? [none[i]!, forty[i]!] : [forty[i]!, none[i]!])
        times.none.push(noneFirst ? first! : second!)
        times.forty.push(noneFirst ? second! : first!)
      }
      return { none: median(times.none), forty: median(times.forty) }
    }
    // First sight of each token: a cache miss, then a store lookup by hash. Second sight: the
    // short negative cache answers.
    const lookup = await interleaved()
    const cached = await interleaved()
    console.log(
      `timing (median ms over ${SAMPLES} each): store lookup ${lookup.none.toFixed(3)} (0 shared) vs ${lookup.forty.toFixed(3)} (40 shared); cache ${cached.none.toFixed(3)} vs ${cached.forty.toFixed(3)}`
    )
    // Within 30% of each other (or 0.2 ms, whichever is larger). Over HTTP this can only catch a
    // gross dependence; the guarantee is the design's, described above.
    for (const { none, forty } of [lookup, cached]) {
      expect(Math.abs(none - forty)).toBeLessThanOrEqual(Math.max(0.3 * Math.min(none, forty), 0.2))
    }
  })

  // BUG: an empty body declared as multipart/form-data on POST /v1/keys, PATCH /v1/keys/{id} or POST
  // /v1/keys/{id}/roll answers 500 internal_error (no boundary parameter) or never answers at all
  // (`multipart/form-data; boundary=x`: the request hangs until the client gives up; found by the
  // fuzz above with a 10 s timeout). apps/api/src/Bodies.ts `read` (line ~52: `if (size === 0)
  // return then(...)`) hands an empty body on without the content-type check that non-empty bodies
  // get, so @effect/platform's multipart decoder gets it. Nothing is logged at ERROR for the 500.
  // Contract section 3: bad input is 400 validation_error; a request always gets an answer.
  it("an empty multipart/form-data body is a 400, not a 500 or no answer", async () => {
    const { id } = victims[0]!
    for (const type of ["multipart/form-data", "multipart/form-data; boundary=x"]) {
      for (const [method, path] of [
        ["POST", "/v1/keys"],
        ["PATCH", `/v1/keys/${id}`],
        ["POST", `/v1/keys/${id}/roll`]
      ] as const) {
        const reply = await send(api.url, {
          method,
          path,
          headers: { authorization: `Bearer ${root}`, "content-type": type },
          body: "",
          timeoutMs: 5_000
        })
        expect({ status: reply.status, code: reply.json?.code }, `${method} ${path} as ${type}`).toEqual({
          status: 400,
          code: "validation_error"
        })
      }
    }
  })

  // BUG: GET or HEAD /v1/auth/ (a trailing slash, or any path the router normalises to it, such as
  // /x/..//v1/auth/) answers 500 internal_error, with or without a key. The lean path matches
  // exactly "/v1/auth" (apps/api/src/LeanVerification.ts `handle`, line ~142), so the request
  // falls through to the HttpApi app, whose router ignores the trailing slash and runs the "auth"
  // handler, `Effect.dieMessage(...)` because it is thought unreachable
  // (apps/api/src/handlers/Verification.ts, line ~27). A forward-auth proxy configured with the
  // slash gets 500 for every request. Expected: the same answer as GET /v1/auth (or a 404), never 500.
  it("GET /v1/auth/ with a trailing slash is answered like /v1/auth, never 500", async () => {
    const created = await call(api.url, "POST", "/v1/keys", root, { name: "slash" })
    ledger.add(created.json.key)
    for (const method of ["GET", "HEAD"]) {
      for (const key of [created.json.key as string, undefined]) {
        const reply = await send(api.url, {
          method,
          path: "/v1/auth/",
          headers: key === undefined ? {} : { authorization: `Bearer ${key}` }
        })
        expect(reply.status, `${method} ${key === undefined ? "without" : "with"} a key`).toBeLessThan(500)
      }
    }
  })

  // BUG: a plaintext key sent where a key id belongs (GET/PATCH/DELETE /v1/keys/{id}, POST
  // /v1/keys/{id}/roll; e.g. `keys get sk_live_…`, a mixed-up id and secret) is written to the
  // access log (`path` of the "request" line, apps/api/src/Http.ts `contractAndAccessLog`, line
  // ~125) and echoed in the 404 ("No key sk_live_… in this team.", packages/core/src/ApiKeys.ts
  // `notFound`, whose KEY_ID pattern /^[A-Za-z0-9_]{1,100}$/ accepts a key). An unknown path holding
  // a key is echoed and logged the same way ("No route GET /sk_live_…", apps/api/src/Http.ts
  // `notFound`, line ~63), and so is a key sent as X-Request-Id (it matches REQUEST_ID and becomes
  // the logged `requestId`). Contract section 2: the plaintext is never logged or returned after
  // the create/roll response. Expected: key-shaped text redacted (Redaction.redactSecrets) in
  // messages and log fields, or refused as an id before any lookup.
  it("a key sent in place of an id, in a path or as a request id is neither echoed nor logged", async () => {
    const created = await call(api.url, "POST", "/v1/keys", root, { name: "misplaced" })
    const secret: string = created.json.key
    ledger.add(secret)
    const before = api.output().length
    const replies = await Promise.all([
      call(api.url, "GET", `/v1/keys/${secret}`, root),
      call(api.url, "PATCH", `/v1/keys/${secret}`, root, { name: "x" }),
      call(api.url, "DELETE", `/v1/keys/${secret}`, root),
      call(api.url, "POST", `/v1/keys/${secret}/roll`, root, {}),
      call(api.url, "GET", `/${secret}`, root),
      send(api.url, {
        method: "GET",
        path: "/v1/keys",
        headers: { authorization: `Bearer ${root}`, "x-request-id": secret }
      })
    ])
    for (const reply of replies)
      expect(ledger.findLeaks(`${reply.text}\n${JSON.stringify(reply.headers)}`)).toEqual([])
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(ledger.findLeaks(api.output().slice(before))).toEqual([])
  })
})
