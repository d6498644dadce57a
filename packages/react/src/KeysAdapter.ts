/**
 * The one seam between the components and a backend. A platform that embeds key management in its
 * own dashboard implements these five calls behind its own auth (usually by forwarding to the keys
 * API with a root key held on its server); `fetchAdapter` is the default, calling the keys API.
 */
import type {
  AuditEvent,
  CreatedKey,
  CreateKeyInput,
  Key,
  ListAuditParams,
  ListKeysParams,
  Page,
  RollOptions
} from "./types.js"

export interface KeysAdapter {
  readonly list: (params: ListKeysParams) => Promise<Page<Key>>
  readonly create: (input: CreateKeyInput) => Promise<CreatedKey>
  readonly revoke: (id: string) => Promise<Key>
  readonly roll: (id: string, options: RollOptions) => Promise<CreatedKey>
  readonly audit: (params: ListAuditParams) => Promise<Page<AuditEvent>>
}

/**
 * A failed call, with the API's `{code, message}`. `status` 401 means the caller is no longer
 * signed in; `status` 0 means the request never got an answer (network down).
 */
export class KeysApiError extends Error {
  override readonly name = "KeysApiError"
  readonly status: number
  readonly code: string
  readonly body: unknown

  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message)
    this.status = status
    this.code = code
    this.body = body
  }
}

export const isUnauthorized = (error: unknown): boolean =>
  error instanceof KeysApiError && error.status === 401

/** A message a person can act on, for any error a call may throw. */
export const messageOf = (error: unknown): string => {
  if (error instanceof KeysApiError) return error.message
  if (error instanceof Error && error.message.length > 0) return error.message
  return "Something went wrong. Try again."
}

export interface FetchAdapterOptions {
  /**
   * Prefix of the API's paths (`/v1/keys` is appended): `""` for the keys API on the same origin,
   * `/dashboard/api` for the dashboard's session proxy, or any URL your platform forwards.
   */
  readonly baseUrl?: string
  /** Extra headers on every request (a CSRF header, your platform's own auth). */
  readonly headers?: Readonly<Record<string, string>>
  /** Defaults to `same-origin`: cookies go to the page's own origin only. */
  readonly credentials?: RequestCredentials
  readonly fetch?: typeof globalThis.fetch
}

const query = (params: Readonly<Record<string, string | number | undefined>>): string => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== "") search.set(name, String(value))
  }
  const text = search.toString()
  return text.length === 0 ? "" : `?${text}`
}

/** The default adapter: the keys API over `fetch`, on the same origin unless told otherwise. */
export const fetchAdapter = (options: FetchAdapterOptions = {}): KeysAdapter => {
  const baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "")
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))

  const call = async <A>(method: string, path: string, body?: unknown): Promise<A> => {
    const headers: Record<string, string> = { accept: "application/json", ...options.headers }
    if (body !== undefined) headers["content-type"] = "application/json"
    let response: Response
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        credentials: options.credentials ?? "same-origin",
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
    } catch {
      throw new KeysApiError(
        0,
        "network_error",
        "Could not reach the server. Check your connection and retry."
      )
    }
    const text = await response.text()
    let json: unknown
    try {
      json = text.length === 0 ? undefined : JSON.parse(text)
    } catch {
      json = undefined
    }
    if (!response.ok) {
      const fields = (typeof json === "object" && json !== null ? json : {}) as {
        code?: unknown
        message?: unknown
      }
      throw new KeysApiError(
        response.status,
        typeof fields.code === "string" ? fields.code : "http_error",
        typeof fields.message === "string"
          ? fields.message
          : `The server answered ${response.status} ${response.statusText}.`.replace(" .", "."),
        json
      )
    }
    return json as A
  }

  const id = (value: string) => encodeURIComponent(value)

  return {
    list: (params) => call("GET", `/v1/keys${query({ ...params, limit: params.limit ?? 50 })}`),
    create: (input) => call("POST", "/v1/keys", input),
    revoke: (keyId) => call("DELETE", `/v1/keys/${id(keyId)}`),
    roll: (keyId, rollOptions) => call("POST", `/v1/keys/${id(keyId)}/roll`, rollOptions),
    audit: (params) => call("GET", `/v1/audit${query({ ...params })}`)
  }
}
