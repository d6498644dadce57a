/**
 * Verification on behalf of a root key, shared by the lean path and the HttpApi handler so both
 * answer identically: the root key needs `keys:verify`; without `admin` it only sees its own team.
 */
import { ApiErrors, type KeysApi } from "@keys/http"
import { ApiKey, Scope, type Verification } from "@keys/core"

export interface Root {
  readonly teamId: string
  readonly scopes: ReadonlyArray<string> | null
}

export const optionsFor = (
  root: Root,
  request: { readonly scopes?: ReadonlyArray<string> | undefined; readonly resource?: string | undefined }
): Verification.VerifyOptions => ({
  scopes: request.scopes,
  resource: request.resource,
  teamId: Scope.holds(root.scopes, Scope.ADMIN) ? undefined : root.teamId
})

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

/** The JSON form of a verified key (dates as ISO strings), written without a schema pass. */
export const verifiedKeyJson = (key: ApiKey.ApiKeyRecord | ApiKey.VerifiedKey) => ({
  id: key.id,
  teamId: key.teamId,
  name: key.name,
  start: key.start,
  environment: key.environment,
  scopes: key.scopes,
  resources: key.resources,
  metadata: key.metadata,
  createdAt: key.createdAt.toISOString(),
  expiresAt: iso(key.expiresAt),
  revokedAt: iso(key.revokedAt),
  lastUsedAt: iso(key.lastUsedAt)
})

// Cached records are immutable (a change replaces the object), so each one's JSON is written once.
const keyJsonCache = new WeakMap<ApiKey.ApiKeyRecord, string>()
const keyJson = (record: ApiKey.ApiKeyRecord): string => {
  let json = keyJsonCache.get(record)
  if (json === undefined) {
    json = JSON.stringify(verifiedKeyJson(record))
    keyJsonCache.set(record, json)
  }
  return json
}

/** The verify endpoint's answer, as JSON text: always 200, `status` the one a caller should use. */
export const responseBodyOf = (result: Verification.Verification): string => {
  const status = result.code === "valid" ? 200 : ApiErrors.statusOf[result.code]
  const head = `{"valid":${result.valid},"code":"${result.code}","status":${status}`
  const key = result.key === undefined ? "" : `,"key":${keyJson(result.key)}`
  const required =
    result.requiredScopes === undefined ? "" : `,"requiredScopes":${JSON.stringify(result.requiredScopes)}`
  return `${head}${key}${required}}`
}

export interface VerifyRequest {
  readonly key: string
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly resource?: string | undefined
}

/**
 * The request when it is plainly valid, checked by hand (the hot path); undefined sends it through
 * the schema, which accepts the same requests and words the errors.
 */
export const quickVerifyRequest = (value: unknown): VerifyRequest | undefined => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined
  const { key, scopes, resource } = value as Record<string, unknown>
  if (typeof key !== "string" || key.length > 512) return undefined
  if (scopes !== undefined) {
    if (!Array.isArray(scopes) || scopes.length > Scope.MAX_PER_KEY) return undefined
    for (const scope of scopes) if (typeof scope !== "string" || !Scope.isValid(scope)) return undefined
  }
  if (
    resource !== undefined &&
    (typeof resource !== "string" || ApiKey.resourceProblem(resource) !== undefined)
  ) {
    return undefined
  }
  return value as VerifyRequest
}

/** The same answer typed for the HttpApi handler. */
export const typedResponseOf = (result: Verification.Verification): KeysApi.VerifyResponse => ({
  valid: result.valid,
  code: result.code,
  status: result.code === "valid" ? 200 : ApiErrors.statusOf[result.code],
  ...(result.key === undefined ? {} : { key: ApiKey.toVerifiedKey(result.key) }),
  ...(result.requiredScopes === undefined ? {} : { requiredScopes: result.requiredScopes })
})
