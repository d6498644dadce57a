/**
 * The session endpoints of apps/api (`/dashboard/api/session`). The root key goes up once, in the
 * sign-in body; what comes back is an HttpOnly cookie the page cannot read, and a description of
 * the session. Nothing here writes to localStorage, sessionStorage or a readable cookie.
 */
import { KeysApiError } from "@keys/react"

export const API_BASE = "/dashboard/api"
/** Sent on every call: a cross-site page cannot add it without a CORS preflight the API refuses. */
export const CSRF_HEADERS = { "x-keys-dashboard": "1" } as const

export interface SessionInfo {
  readonly teamId: string
  readonly keyId: string
  readonly keyName: string
  readonly scopes: ReadonlyArray<string> | null
  readonly expiresAt: string
  /** The server's product scope catalogue (`KEYS_SCOPES`), offered in the create form. */
  readonly scopeCatalogue: ReadonlyArray<string> | null
}

const call = async <A>(method: string, body?: unknown): Promise<A | undefined> => {
  let response: Response
  try {
    response = await fetch(`${API_BASE}/session`, {
      method,
      credentials: "same-origin",
      headers: {
        ...CSRF_HEADERS,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" })
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
  } catch {
    throw new KeysApiError(0, "network_error", "Could not reach the server. Is it running?")
  }
  if (response.status === 204) return undefined
  const json = (await response.json().catch(() => undefined)) as
    | (A & { code?: string; message?: string })
    | undefined
  if (!response.ok) {
    throw new KeysApiError(
      response.status,
      json?.code ?? "http_error",
      json?.message ?? `The server answered ${response.status}.`,
      json
    )
  }
  return json
}

/** The current session, or undefined when signed out. */
export const currentSession = async (): Promise<SessionInfo | undefined> => {
  try {
    return await call<SessionInfo>("GET")
  } catch (error) {
    if (error instanceof KeysApiError && error.status === 401) return undefined
    throw error
  }
}

export const signIn = async (key: string): Promise<SessionInfo> => {
  const session = await call<SessionInfo>("POST", { key })
  if (session === undefined) throw new KeysApiError(500, "internal_error", "The server sent no session.")
  return session
}

export const signOut = async (): Promise<void> => {
  await call("DELETE")
}
