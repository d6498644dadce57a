/**
 * Hostile input over real HTTP: random bytes, deep nesting, wrong content types, unicode, huge
 * headers and bodies, bad JSON, unknown routes. Every answer is a clean 4xx in the contract's JSON
 * (never a 5xx), and the server keeps serving afterwards.
 */
import { randomBytes } from "node:crypto"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  type Credential,
  createKey,
  expectError,
  expectOk,
  type Reply,
  type RunningApi,
  request,
  startApiOnFreshDatabase,
  uniqueTeam,
  verify
} from "./helpers.js"

let api: RunningApi
let root: Credential
let victim: { id: string; key: string }

beforeAll(async () => {
  api = await startApiOnFreshDatabase()
  root = await api.rootKey(uniqueTeam("hostile"))
}, 60_000)

afterAll(async () => {
  await api?.close()
})

beforeEach(async () => {
  victim = await createKey(api, root.key, { name: "victim", scopes: ["send"] })
})

/** The server still answers, both on the HttpApi stack and on the lean verification path. */
const expectStillServing = async (): Promise<void> => {
  const health = await request(api, "GET", "/healthz")
  expect(health.status).toBe(200)
  const verified = await verify(api, root.key, { key: victim.key })
  expect(verified.json).toMatchObject({ valid: true, code: "valid" })
  const listed = await request(api, "GET", "/v1/keys", { key: root.key, query: { limit: 1 } })
  expect(listed.status).toBe(200)
}

/** A clean 4xx: the contract's JSON error (any code), never a 5xx. */
const expectClean4xx = (reply: Reply): void => {
  expect(reply.status, reply.text).toBeGreaterThanOrEqual(400)
  expect(reply.status, reply.text).toBeLessThan(500)
  expectError(reply, reply.status, reply.json?.code)
}

/** Endpoints that read a body, with the path for the current victim key. */
const BODY_ENDPOINTS: ReadonlyArray<readonly [string, string, () => string]> = [
  ["POST /v1/keys", "POST", () => "/v1/keys"],
  ["PATCH /v1/keys/{id}", "PATCH", () => `/v1/keys/${victim.id}`],
  ["POST /v1/keys/{id}/roll", "POST", () => `/v1/keys/${victim.id}/roll`],
  ["POST /v1/keys/verify", "POST", () => "/v1/keys/verify"]
]

const nested = (depth: number, leaf = "1"): string => "[".repeat(depth) + leaf + "]".repeat(depth)

describe("bodies that are not what they claim", { timeout: 60_000 }, () => {
  it.each(BODY_ENDPOINTS)(
    "%s: random bytes are refused with 400 validation_error",
    async (_n, method, path) => {
      // application/octet-stream and other unknown types: see the content-type BUG below.
      for (const contentType of ["application/json", "text/plain", undefined]) {
        // Random bytes decode to about twice their size in UTF-8 (see the BUG below): 20 000 stays under the limit.
        for (const size of [1, 17, 1024, 20_000]) {
          const reply = await request(api, method, path(), {
            key: root.key,
            rawBody: new Uint8Array(randomBytes(size)),
            headers: contentType === undefined ? {} : { "content-type": contentType }
          })
          expectClean4xx(reply)
        }
      }
      await expectStillServing()
    }
  )

  // BUG: a body of binary garbage well under 64 KiB (e.g. 40 000-60 000 random bytes with a correct
  // Content-Length) on a management endpoint gets no answer: the connection is closed without a
  // response ("other side closed" in fetch). @effect/platform-node reads the body as UTF-8 text and
  // counts the bytes of the *decoded* string against withMaxBodySize (each invalid byte becomes a
  // 3-byte U+FFFD), so the 64 KiB limit set in apps/api/src/Http.ts (line ~150) trips; the failed read
  // then destroys the request socket before any response is written (same mechanism as the chunked
  // over-limit BUG below). Contract: 400 validation_error (or 413 for a body really over 64 KiB).
  it("60 000 random bytes to a management endpoint get a clean 4xx answer", async () => {
    for (const [, method, path] of BODY_ENDPOINTS) {
      const reply = await request(api, method, path(), {
        key: root.key,
        rawBody: new Uint8Array(randomBytes(60_000)),
        headers: { "content-type": "application/json" }
      })
      expectClean4xx(reply)
    }
    await expectStillServing()
  })

  it.each(BODY_ENDPOINTS)("%s: bad JSON is 400 validation_error", async (_n, method, path) => {
    for (const body of [
      "{",
      '{"name": }',
      "{'name': 'x'}",
      '{"name":"x"} trailing',
      "nul\u0000l",
      "[1,]",
      "NaN"
    ]) {
      const reply = await request(api, method, path(), {
        key: root.key,
        rawBody: body,
        headers: { "content-type": "application/json" }
      })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  it.each(BODY_ENDPOINTS)("%s: 1 000 levels of nesting are a clean 400", async (_n, method, path) => {
    const deep = nested(1_000)
    for (const body of [`{"name":${deep},"key":${deep},"gracePeriodSeconds":${deep}}`, deep]) {
      const reply = await request(api, method, path(), {
        key: root.key,
        rawBody: body,
        headers: { "content-type": "application/json" }
      })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  it("nested metadata within the depth limit is stored verbatim; deeper is a 400", async () => {
    const metadata = { deep: JSON.parse(nested(20)), "emoji 🔑": "ключ" }
    const created = await createKey(api, root.key, { name: "deep", metadata })
    const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
    expect(fetched.json.metadata).toEqual(metadata)
    const tooDeep = await request(api, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "too deep", metadata: { deep: JSON.parse(nested(1_000)) } }
    })
    expect(tooDeep.status).toBe(400)
    expect(tooDeep.json).toMatchObject({ code: "validation_error", field: "body" })
  })

  // BUG: POST /v1/keys/verify with a value nested 10 000 levels deep (`{"key": [[[…]]]}` or in
  // `scopes`) never gets an answer, and in a real process it kills the server: the schema error's
  // message formatting (effect's Inspectable formatUnknown, reached through
  // Errors.invalidInputFromParseError) overflows the stack inside the request's "end" listener in
  // apps/api/src/LeanVerification.ts (readJson → handleVerify, lines ~105-134), which nothing catches:
  // an uncaught RangeError. Reproduced against `tsx src/main.ts`: the process exits and /healthz is
  // refused afterwards. Any holder of a keys:verify key can take the API down with one 40 KB request.
  // Contract (section 3): 400 validation_error.
  it("POST /v1/keys/verify with 10 000 levels of nesting is a clean 400", async () => {
    for (const body of [`{"key":${nested(10_000)}}`, `{"key":"x","scopes":${nested(10_000)}}`]) {
      const reply = await request(api, "POST", "/v1/keys/verify", {
        key: root.key,
        rawBody: body,
        headers: { "content-type": "application/json" }
      })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  // BUG: the HttpApi endpoints answer a body nested 10 000 levels deep with 500 internal_error:
  // decoding fails and formatting the decode error (HttpApiDecodeError / ParseResult formatters,
  // effect's Inspectable formatUnknown) overflows the stack; the defect becomes a 500 in
  // apps/api/src/Http.ts (contractResponses). Contract (section 3): bad input is 400
  // validation_error; 500 is for bugs.
  it("management endpoints answer 10 000 levels of nesting with a clean 400", async () => {
    for (const [, method, path] of BODY_ENDPOINTS.slice(0, 3)) {
      for (const body of [`{"name":${nested(10_000)}}`, `{"name":"n","metadata":{"m":${nested(10_000)}}}`]) {
        const reply = await request(api, method, path(), {
          key: root.key,
          rawBody: body,
          headers: { "content-type": "application/json" }
        })
        expectError(reply, 400, "validation_error")
      }
    }
    await expectStillServing()
  })
})

describe("content types", { timeout: 60_000 }, () => {
  it("text/plain, XML and form bodies that are not a payload are 400 on the management endpoints", async () => {
    for (const [contentType, body] of [
      ["text/plain", "name=x"],
      ["text/plain", '{"name":"x"}'],
      ["application/xml", "<name>x</name>"],
      ["application/x-www-form-urlencoded", "nothing=here"],
      ["image/png", "\u0089PNG"]
    ] as const) {
      const reply = await request(api, "POST", "/v1/keys", {
        key: root.key,
        rawBody: body,
        headers: { "content-type": contentType }
      })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  it("a multipart body carrying a file and no payload field is 400", async () => {
    const body =
      "--b\r\n" +
      'Content-Disposition: form-data; name="file"; filename="a.bin"\r\n' +
      "Content-Type: application/octet-stream\r\n\r\n" +
      "\u0000\u0001\u0002\r\n" +
      "--b--\r\n"
    for (const [method, path] of [
      ["POST", "/v1/keys"],
      ["POST", "/v1/keys/verify"]
    ] as const) {
      const reply = await request(api, method, path, {
        key: root.key,
        rawBody: body,
        headers: { "content-type": "multipart/form-data; boundary=b" }
      })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  it("the verification endpoint reads any content type as JSON (curl -d works)", async () => {
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", undefined]) {
      const reply = await request(api, "POST", "/v1/keys/verify", {
        key: root.key,
        rawBody: JSON.stringify({ key: victim.key }),
        headers: contentType === undefined ? {} : { "content-type": contentType }
      })
      expectOk(reply)
      expect(reply.json.valid).toBe(true)
    }
  })

  // BUG: a malformed multipart body (garbage, or no boundary parameter) on POST /v1/keys answers
  // 500 internal_error: the multipart parse failure of @effect/platform is not mapped to the
  // contract and ends as a defect rewritten to 500 in apps/api/src/Http.ts (contractResponses).
  // Contract (section 3): bad input is 400 validation_error; never a 5xx for what a client sent.
  it("a malformed multipart body is 400, not 500", async () => {
    for (const contentType of ["multipart/form-data; boundary=b", "multipart/form-data"]) {
      const reply = await request(api, "POST", "/v1/keys", {
        key: root.key,
        rawBody: "this is not multipart",
        headers: { "content-type": contentType }
      })
      expectError(reply, 400, "validation_error")
    }
  })

  // BUG: the management endpoints do not insist on JSON. With a content type they do not know
  // (application/octet-stream, image/png, application/xml, …) @effect/platform's HttpApi ignores the
  // body and decodes the payload as {}: POST /v1/keys/{id}/roll with a body of random bytes answers
  // 201 and revokes the old key at once (gracePeriodSeconds defaults to 0), PATCH answers 200.
  // multipart/form-data and application/x-www-form-urlencoded bodies are decoded as forms (POST
  // /v1/keys with a form field `name` answers 201). Nothing in apps/api/src/Http.ts checks the
  // content type of a request body. Contract: the requests are JSON; anything else is bad input,
  // 400 validation_error. (HTML forms can send the form types cross-site without a preflight.)
  it("bodies that are not JSON are refused with 400 and change nothing", async () => {
    for (const contentType of ["application/octet-stream", "image/png", "application/xml"]) {
      const garbage = new Uint8Array(randomBytes(100))
      const rolled = await request(api, "POST", `/v1/keys/${victim.id}/roll`, {
        key: root.key,
        rawBody: garbage,
        headers: { "content-type": contentType }
      })
      expectError(rolled, 400, "validation_error")
      const patched = await request(api, "PATCH", `/v1/keys/${victim.id}`, {
        key: root.key,
        rawBody: garbage,
        headers: { "content-type": contentType }
      })
      expectError(patched, 400, "validation_error")
    }
    expect((await verify(api, root.key, { key: victim.key })).json.valid).toBe(true)
    const multipart = await request(api, "POST", "/v1/keys", {
      key: root.key,
      rawBody: '--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nvia form\r\n--b--\r\n',
      headers: { "content-type": "multipart/form-data; boundary=b" }
    })
    expectError(multipart, 400, "validation_error")
    const urlencoded = await request(api, "POST", "/v1/keys", {
      key: root.key,
      rawBody: "name=via+form",
      headers: { "content-type": "application/x-www-form-urlencoded" }
    })
    expectError(urlencoded, 400, "validation_error")
  })
})

describe("unicode", { timeout: 60_000 }, () => {
  const NAMES = [
    "Ключ продакшена",
    "本番キー 🔑",
    "🚀🔥💯",
    "👩‍👩‍👧‍👦 family",
    "e\u0301 vs é",
    "مفتاح الإنتاج",
    "Ω≈ç√∫˜µ≤≥÷",
    "𝕂𝕖𝕪 (astral plane)",
    "'; DROP TABLE keys; --",
    '<script>alert("x")</script>',
    "🔑".repeat(100)
  ]

  it("names are stored and returned verbatim by create, get, list, update and audit", async () => {
    for (const name of NAMES) {
      const created = await createKey(api, root.key, { name, metadata: { [name]: name } })
      expect(created.name).toBe(name)
      const fetched = await request(api, "GET", `/v1/keys/${created.id}`, { key: root.key })
      expect(fetched.json.name).toBe(name)
      expect(fetched.json.metadata).toEqual({ [name]: name })
      const verified = await verify(api, root.key, { key: created.key })
      expect(verified.json.key.name).toBe(name)
    }
    const listed = await request(api, "GET", "/v1/keys", { key: root.key, query: { limit: 100 } })
    const names = listed.json.data.map((key: { name: string }) => key.name)
    for (const name of NAMES) expect(names).toContain(name)
    const renamed = await request(api, "PATCH", `/v1/keys/${victim.id}`, {
      key: root.key,
      body: { name: "переименован ✅" }
    })
    expect(renamed.json.name).toBe("переименован ✅")
    const audit = await request(api, "GET", "/v1/audit", { key: root.key, query: { keyId: victim.id } })
    expect(audit.json.data[0].changes.name).toBe("переименован ✅")
  })

  it("refuses names that are too long or carry control characters with 400", async () => {
    for (const name of ["🔑".repeat(101), "a\u0000b", "line\nbreak", "tab\there", "\u007f"]) {
      const reply = await request(api, "POST", "/v1/keys", { key: root.key, body: { name } })
      expectError(reply, 400, "validation_error")
      expect(reply.json.message).toContain("name")
    }
  })

  it("a metadata key named __proto__ pollutes nothing", async () => {
    const reply = await request(api, "POST", "/v1/keys", {
      key: root.key,
      rawBody:
        '{"name":"proto","metadata":{"__proto__":{"polluted":true},"constructor":{"prototype":{"p":1}}}}',
      headers: { "content-type": "application/json" }
    })
    expectOk(reply, 201)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).p).toBeUndefined()
    expect(reply.json.metadata.polluted).toBeUndefined()
    await expectStillServing()
  })
})

describe("strings PostgreSQL cannot store", { timeout: 60_000 }, () => {
  // BUG: a NUL character (U+0000) or a lone UTF-16 surrogate in input that reaches PostgreSQL is
  // answered 503 service_unavailable ("The key store is unavailable"): the key id in the path of
  // GET/PATCH/DELETE/roll (/v1/keys/%00), `keyId` of GET /v1/audit, metadata keys or values
  // ({"a": "\u0000"}), a name with "\ud800". PostgreSQL refuses such text and jsonb, the SqlError
  // becomes StoreUnavailable (packages/postgres/src/PgKeyRepository.ts) and the client is told the
  // store is down. KeyId (packages/http/src/KeysApi.ts) is only maxLength(100); Metadata and KeyName
  // (packages/core/src/ApiKey.ts) do not exclude them. Contract (section 3): bad input is 400
  // validation_error, an unknown id 404 not_found; a 5xx for client input also trips alerts.
  it("NUL and lone surrogates are a 400 or 404, never 503", async () => {
    for (const method of ["GET", "PATCH", "DELETE"] as const) {
      const reply = await request(api, method, "/v1/keys/a%00b", {
        key: root.key,
        ...(method === "PATCH" ? { body: { name: "x" } } : {})
      })
      expectClean4xx(reply)
    }
    expectClean4xx(await request(api, "POST", "/v1/keys/%00/roll", { key: root.key, body: {} }))
    expectClean4xx(await request(api, "GET", "/v1/audit", { key: root.key, query: { keyId: "\u0000" } }))
    for (const rawBody of [
      '{"name":"x","metadata":{"a":"\\u0000"}}',
      '{"name":"x","metadata":{"\\u0000":1}}',
      '{"name":"a\\ud800b"}',
      '{"name":"x","metadata":{"a":"\\udc00"}}'
    ]) {
      const reply = await request(api, "POST", "/v1/keys", {
        key: root.key,
        rawBody,
        headers: { "content-type": "application/json" }
      })
      expectError(reply, 400, "validation_error")
    }
  })
})

describe("headers", { timeout: 60_000 }, () => {
  /** The request, or "closed" when the server cut the connection instead of answering. */
  const attempt = async (headers: Record<string, string>): Promise<Reply | "closed"> => {
    try {
      return await request(api, "GET", "/v1/keys", { key: root.key, headers })
    } catch {
      return "closed"
    }
  }

  it("headers close to 16 KiB are served", async () => {
    const reply = await attempt({ "x-padding": "a".repeat(15_500) })
    expect(reply).not.toBe("closed")
    expect((reply as Reply).status).toBe(200)
    const many: Record<string, string> = {}
    for (let i = 0; i < 500; i++) many[`x-header-${i}`] = "v"
    const manyReply = await attempt(many)
    expect((manyReply as Reply).status).toBe(200)
  })

  it("headers over 16 KiB get a 4xx (or a closed connection), never a 5xx, and the server goes on", async () => {
    for (const size of [16_384, 17_000, 65_536, 1_000_000]) {
      const reply = await attempt({ "x-padding": "a".repeat(size) })
      if (reply !== "closed") {
        expect(reply.status, `header of ${size} bytes`).toBeGreaterThanOrEqual(400)
        expect(reply.status, `header of ${size} bytes`).toBeLessThan(500)
      }
      await expectStillServing()
    }
  })

  it("an Authorization header of 15 KiB is an invalid key, not a crash", async () => {
    const reply = await request(api, "GET", "/v1/keys", { key: "sk_live_".padEnd(15_000, "A") })
    expectError(reply, 401, "invalid_api_key")
    const auth = await request(api, "GET", "/v1/auth", { key: "sk_live_".padEnd(15_000, "A") })
    expectError(auth, 401, "invalid_api_key")
    await expectStillServing()
  })
})

describe("body size", { timeout: 60_000 }, () => {
  /** A JSON body of exactly `size` bytes: `fields` padded with spaces. */
  const padded = (fields: Record<string, unknown>, size: number): string => {
    const base = JSON.stringify(fields)
    return `${base.slice(0, -1)}${" ".repeat(size - base.length)}}`
  }

  it("64 KiB exactly is accepted; one byte more is 413 payload_too_large", async () => {
    const atLimit = await request(api, "POST", "/v1/keys/verify", {
      key: root.key,
      rawBody: padded({ key: victim.key }, 65_536),
      headers: { "content-type": "application/json" }
    })
    expectOk(atLimit)
    expect(atLimit.json.valid).toBe(true)
    const createAtLimit = await request(api, "POST", "/v1/keys", {
      key: root.key,
      rawBody: padded({ name: "at the limit" }, 65_536),
      headers: { "content-type": "application/json" }
    })
    expectOk(createAtLimit, 201)
    for (const [method, path, fields] of [
      ["POST", "/v1/keys/verify", { key: victim.key }],
      ["POST", "/v1/keys", { name: "over" }],
      ["PATCH", `/v1/keys/${victim.id}`, { name: "over" }],
      ["POST", `/v1/keys/${victim.id}/roll`, {}]
    ] as const) {
      const reply = await request(api, method, path, {
        key: root.key,
        rawBody: padded(fields, 65_537),
        headers: { "content-type": "application/json" }
      })
      expectError(reply, 413, "payload_too_large")
    }
    await expectStillServing()
  })

  it("bodies of megabytes are 413 with or without a key, and change nothing", async () => {
    const huge = JSON.stringify({ name: "huge", metadata: { blob: "z".repeat(2_000_000) } })
    for (const key of [root.key, undefined]) {
      for (const path of ["/v1/keys", "/v1/keys/verify"]) {
        const reply = await request(api, "POST", path, {
          key,
          rawBody: huge,
          headers: { "content-type": "application/json" }
        })
        expectError(reply, 413, "payload_too_large")
      }
    }
    const listed = await request(api, "GET", "/v1/keys", { key: root.key, query: { limit: 100 } })
    expect(listed.json.data.map((key: { name: string }) => key.name)).not.toContain("huge")
    await expectStillServing()
  })

  /** A body streamed in chunks (no Content-Length), `size` bytes of JSON in all. */
  const chunked = async (path: string, size: number): Promise<Reply | "closed"> => {
    const encoder = new TextEncoder()
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('{"key":"x","name":"x"'))
        for (let sent = 0; sent < size; sent += 8_192) controller.enqueue(encoder.encode(" ".repeat(8_192)))
        controller.enqueue(encoder.encode("}"))
        controller.close()
      }
    })
    try {
      const response = await fetch(new URL(path, api.url), {
        method: "POST",
        headers: { authorization: `Bearer ${root.key}`, "content-type": "application/json" },
        body,
        duplex: "half",
        signal: AbortSignal.timeout(20_000)
      } as RequestInit)
      const text = await response.text()
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json }
    } catch {
      return "closed"
    }
  }

  it("a chunked body over 64 KiB to the verification endpoint is 413 payload_too_large", async () => {
    const reply = await chunked("/v1/keys/verify", 100_000)
    expect(reply).not.toBe("closed")
    expectError(reply as Reply, 413, "payload_too_large")
    await expectStillServing()
  })

  it("a chunked body over 64 KiB to a management endpoint is never a 5xx, and the server goes on", async () => {
    const reply = await chunked("/v1/keys", 100_000)
    if (reply !== "closed") expectClean4xx(reply)
    await expectStillServing()
  })

  // BUG: POST /v1/keys (any HttpApi endpoint) with a body over 64 KiB sent chunked (no
  // Content-Length) gets no answer at all: the connection is closed without a response ("Empty reply
  // from server" with curl). apps/api/src/Http.ts refuses over-long bodies early only when
  // Content-Length says so (listener, lines ~174-183); otherwise it relies on withMaxBodySize, whose
  // failure never reaches contractResponses as a 413. The lean verification path answers 413
  // correctly. Contract (section 3): 413 payload_too_large.
  it("a chunked body over 64 KiB to a management endpoint is 413 payload_too_large", async () => {
    const reply = await chunked("/v1/keys", 100_000)
    expect(reply).not.toBe("closed")
    expectError(reply as Reply, 413, "payload_too_large")
  })
})

describe("odd requests", { timeout: 60_000 }, () => {
  it("unknown routes and methods are 404 not_found JSON", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/v1/keys/verify/extra"],
      ["PUT", `/v1/keys/${victim.id}`],
      ["DELETE", "/v1/auth"],
      ["GET", `/${"a".repeat(8_000)}`],
      ["GET", "/v1/keys/..%2F..%2Fetc%2Fpasswd"],
      ["GET", `/v1/keys/${"k".repeat(101)}`]
    ] as const) {
      const reply = await request(api, method, path, { key: root.key })
      expectError(reply, 404, "not_found")
    }
    await expectStillServing()
  })

  it("hostile query strings are 400 validation_error", async () => {
    for (const query of [
      { limit: "1e309" },
      { limit: "-1" },
      { teamId: "\u0000" },
      { teamId: "a".repeat(129) },
      { cursor: "a".repeat(300) },
      { cursor: "eyJhdCI6ImJhZCJ9" },
      { expiringWithin: "99999999999999999d" },
      { status: "active'; --" }
    ]) {
      const reply = await request(api, "GET", "/v1/keys", { key: root.key, query })
      expectError(reply, 400, "validation_error")
    }
    await expectStillServing()
  })

  it("a burst of concurrent mixed requests all get answers, none a 5xx", async () => {
    const requests = Array.from({ length: 200 }, (_, i) => {
      switch (i % 5) {
        case 0:
          return verify(api, root.key, { key: victim.key })
        case 1:
          return verify(api, root.key, { key: `sk_live_${"x".repeat(48)}` })
        case 2:
          return request(api, "GET", "/v1/auth", { key: victim.key })
        case 3:
          return request(api, "POST", "/v1/keys/verify", { key: root.key, rawBody: "{bad" })
        default:
          return request(api, "GET", "/v1/keys", { key: root.key, query: { limit: 5 } })
      }
    })
    const replies = await Promise.all(requests)
    for (const reply of replies) expect(reply.status).toBeLessThan(500)
    await expectStillServing()
  })
})
