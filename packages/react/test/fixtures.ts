/** An in-memory `KeysAdapter` with a fixed clock, recording every call, for component tests. */
import { KeysApiError, type KeysAdapter } from "../src/KeysAdapter.js"
import type { AuditEvent, CreatedKey, CreateKeyInput, Key, ListKeysParams } from "../src/types.js"

export const NOW = Date.parse("2026-03-10T12:00:00.000Z")
export const now = () => NOW
const MINUTE = 60_000
const DAY = 86_400_000

export const iso = (offsetMs: number): string => new Date(NOW + offsetMs).toISOString()

export const key = (overrides: Partial<Key> = {}): Key => ({
  id: "key_1",
  teamId: "team_1",
  name: "Production",
  start: "sk_live_3xaQ",
  environment: "live",
  scopes: null,
  resources: null,
  metadata: null,
  status: "active",
  createdAt: iso(-30 * DAY),
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: iso(-3 * MINUTE),
  ...overrides
})

export const SECRET = `sk_live_${"A".repeat(48)}`

export interface Calls {
  list: Array<ListKeysParams>
  create: Array<CreateKeyInput>
  revoke: Array<string>
  roll: Array<{ id: string; gracePeriodSeconds: number }>
  audit: Array<{ keyId?: string | undefined }>
}

export const fakeAdapter = (
  initial: ReadonlyArray<Key> = [key()],
  options: { readonly failWith?: KeysApiError; readonly events?: ReadonlyArray<AuditEvent> } = {}
) => {
  let keys = [...initial]
  const calls: Calls = { list: [], create: [], revoke: [], roll: [], audit: [] }
  let counter = 100
  const fail = () => (options.failWith === undefined ? undefined : Promise.reject(options.failWith))
  const adapter: KeysAdapter = {
    list: async (params) => {
      calls.list.push(params)
      const failure = fail()
      if (failure !== undefined) return failure
      const data = keys.filter(
        (item) =>
          (params.status === undefined || item.status === params.status) &&
          (params.environment === undefined || item.environment === params.environment)
      )
      return { data, nextCursor: null }
    },
    create: async (input) => {
      calls.create.push(input)
      if (input.name === "taken") throw new KeysApiError(400, "validation_error", "name: is already used")
      const created: CreatedKey = {
        ...key({
          id: `key_${++counter}`,
          name: input.name,
          environment: input.environment ?? "live",
          scopes: input.scopes ?? null,
          resources: input.resources ?? null,
          expiresAt: input.expiresAt ?? null,
          createdAt: iso(0),
          lastUsedAt: null
        }),
        key: SECRET
      }
      const { key: _secret, ...stored } = created
      keys = [stored, ...keys]
      return created
    },
    revoke: async (id) => {
      calls.revoke.push(id)
      const found = keys.find((item) => item.id === id)
      if (found === undefined) throw new KeysApiError(404, "not_found", `No key ${id}`)
      const revoked: Key = { ...found, status: "revoked", revokedAt: iso(0) }
      keys = keys.map((item) => (item.id === id ? revoked : item))
      return revoked
    },
    roll: async (id, rollOptions) => {
      calls.roll.push({ id, ...rollOptions })
      const found = keys.find((item) => item.id === id)
      if (found === undefined) throw new KeysApiError(404, "not_found", `No key ${id}`)
      const replacement: Key = { ...found, id: `key_${++counter}`, createdAt: iso(0), lastUsedAt: null }
      keys = [replacement, ...keys]
      return { ...replacement, key: `sk_live_${"B".repeat(48)}` }
    },
    audit: async (params) => {
      calls.audit.push(params)
      const failure = fail()
      if (failure !== undefined) return failure
      const events = options.events ?? []
      return {
        data: events.filter((event) => params.keyId === undefined || event.keyId === params.keyId),
        nextCursor: null
      }
    }
  }
  return { adapter, calls, current: () => keys }
}
