/**
 * The peer: Better Auth with its API-key plugin, set up as its documentation says — a pg `Pool` as
 * the database, `getMigrations(options).runMigrations()` for the schema, keys created with
 * `auth.api.createApiKey` for a user, verified with `auth.api.verifyApiKey`. The one option changed
 * is the plugin's default rate limit (10 requests per key per day), off for a throughput test.
 */
import { apiKey } from "@better-auth/api-key"
import { betterAuth } from "better-auth"
import { getMigrations } from "better-auth/db/migration"
import type pg from "pg"

export const VERSION = "1.7.5"

export const optionsFor = (pool: pg.Pool) => ({
  database: pool,
  secret: "keys-bench-better-auth-secret-0123456789abcdef",
  baseURL: "http://127.0.0.1",
  plugins: [apiKey({ rateLimit: { enabled: false } })]
})

export const make = (pool: pg.Pool) => {
  const options = optionsFor(pool)
  return { auth: betterAuth(options), options }
}

export type Auth = ReturnType<typeof make>["auth"]

/** Its schema, one user, and `count` keys for that user; answers the keys. */
export const setUp = async (pool: pg.Pool, count: number, concurrency = 8): Promise<Array<string>> => {
  const { auth, options } = make(pool)
  const { runMigrations } = await getMigrations(options)
  await runMigrations()
  const context = await auth.$context
  const user = await context.internalAdapter.createUser(
    { email: "bench@example.com", name: "bench", emailVerified: true },
    { method: "admin" }
  )
  const keys: Array<string> = []
  let next = 0
  const loop = async () => {
    while (next < count) {
      const index = next++
      const created = await auth.api.createApiKey({ body: { userId: user.id, name: `bench-${index}` } })
      keys.push(created.key)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop))
  return keys
}

/** One verification through the plugin's server API; true when valid. */
export const verifier = (auth: Auth) => (key: string) =>
  auth.api.verifyApiKey({ body: { key } }).then((result) => result.valid)
