/**
 * Dashboard sessions, in this process's memory: a sign-in exchanges a root key for a random
 * session token (the cookie); the root key stays here, server-side, and is what the dashboard's
 * API calls are made with. Sessions end on sign-out, after `idleTimeout` without a request, after
 * `maxAge` in all, when the root key expires, or when the API answers 401 for the root key. A
 * restart ends every session (sign in again): state lives in one process, by design of the
 * embedded default.
 */
import { createHash, randomBytes } from "node:crypto"
import type { Redacted } from "effect"

export interface Session {
  readonly rootKey: Redacted.Redacted<string>
  readonly keyId: string
  readonly keyName: string
  readonly teamId: string
  readonly scopes: ReadonlyArray<string> | null
  readonly createdAt: number
  /** The absolute end: `maxAge` after sign-in, or the root key's own expiry if sooner. */
  readonly expiresAt: number
  lastSeenAt: number
}

export interface Options {
  /** Absolute lifetime of a session in milliseconds (default 8 hours). */
  readonly maxAgeMs?: number
  /** A session unused this long ends (default 1 hour). */
  readonly idleTimeoutMs?: number
  /** Beyond this many live sessions the least recently used one ends (default 10 000). */
  readonly maxSessions?: number
  readonly now?: () => number
}

export const DEFAULT_MAX_AGE_MS = 8 * 3_600_000
export const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000

export interface Sessions {
  /** Starts a session; the token is for the cookie and is never stored here as is. */
  readonly create: (
    input: Omit<Session, "createdAt" | "expiresAt" | "lastSeenAt"> & { readonly keyExpiresAt: number | null }
  ) => { readonly token: string; readonly session: Session }
  /** The live session for a token (and marks it used), or undefined when there is none. */
  readonly get: (token: string) => Session | undefined
  readonly end: (token: string) => void
  readonly size: () => number
  readonly maxAgeMs: number
}

/** Lookups go by a hash of the token: what this map holds cannot be replayed as a cookie. */
const digest = (token: string): string => createHash("sha256").update(token).digest("hex")

export const make = (options: Options = {}): Sessions => {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const maxSessions = options.maxSessions ?? 10_000
  const now = options.now ?? (() => Date.now())
  // Insertion order doubles as recency order: a used session is moved to the end.
  const sessions = new Map<string, Session>()
  let lastSweep = 0

  const isLive = (session: Session, at: number): boolean =>
    at < session.expiresAt && at - session.lastSeenAt < idleTimeoutMs

  const sweep = (at: number): void => {
    lastSweep = at
    for (const [id, session] of sessions) if (!isLive(session, at)) sessions.delete(id)
  }

  return {
    maxAgeMs,
    create: (input) => {
      const at = now()
      if (at - lastSweep > 60_000 || sessions.size >= maxSessions) sweep(at)
      while (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next()
        if (oldest.done === true) break
        sessions.delete(oldest.value)
      }
      const token = randomBytes(32).toString("base64url")
      const session: Session = {
        rootKey: input.rootKey,
        keyId: input.keyId,
        keyName: input.keyName,
        teamId: input.teamId,
        scopes: input.scopes,
        createdAt: at,
        expiresAt: Math.min(at + maxAgeMs, input.keyExpiresAt ?? Number.POSITIVE_INFINITY),
        lastSeenAt: at
      }
      sessions.set(digest(token), session)
      return { token, session }
    },
    get: (token) => {
      if (token.length === 0 || token.length > 100) return undefined
      const id = digest(token)
      const session = sessions.get(id)
      if (session === undefined) return undefined
      const at = now()
      if (!isLive(session, at)) {
        sessions.delete(id)
        return undefined
      }
      session.lastSeenAt = at
      sessions.delete(id)
      sessions.set(id, session)
      return session
    },
    end: (token) => {
      sessions.delete(digest(token))
    },
    size: () => sessions.size
  }
}
