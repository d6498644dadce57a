/**
 * Scopes: what a key may do. Product scopes are the platform's (`send`, `emails:send`); a segment
 * `*` at the end grants every scope below it (`emails:*` grants `emails:send`). Management scopes
 * drive the keys API itself and are granted only literally: neither an unscoped key nor a wildcard
 * implies them.
 */
import { Schema } from "effect"

export const MAX_LENGTH = 64
export const MAX_PER_KEY = 50

const LITERAL = /^[a-z][a-z0-9_.:-]*$/
const WILDCARD = /^(?:[a-z][a-z0-9_.-]*:)+\*$/

export const KEYS_READ = "keys:read"
export const KEYS_WRITE = "keys:write"
export const KEYS_VERIFY = "keys:verify"
export const ADMIN = "admin"
export const managementScopes: ReadonlyArray<string> = [KEYS_READ, KEYS_WRITE, KEYS_VERIFY, ADMIN]
const MANAGEMENT = new Set(managementScopes)

export const isManagement = (scope: string): boolean => MANAGEMENT.has(scope)
export const isWildcard = (scope: string): boolean => scope.endsWith(":*")

/** Whether `scope` is well formed as something a key may be granted. */
export const isValid = (scope: string): boolean =>
  scope.length > 0 && scope.length <= MAX_LENGTH && (LITERAL.test(scope) || WILDCARD.test(scope))

export const Scope = Schema.String.pipe(
  Schema.filter(
    (scope) =>
      isValid(scope) ||
      `"${scope.slice(0, MAX_LENGTH + 1)}" is not a valid scope: use lowercase letters, digits and _ . : - (starting with a letter, at most ${MAX_LENGTH} characters), optionally ending in :*`
  )
).annotations({ identifier: "Scope", examples: ["send", "emails:send", "emails:*"] })

export const Scopes = Schema.Array(Scope).pipe(
  Schema.maxItems(MAX_PER_KEY, { message: () => `at most ${MAX_PER_KEY} scopes per key` })
)

/** Whether a single granted scope covers `required`. */
const grants = (granted: string, required: string): boolean => {
  if (granted === required) return true
  if (!isWildcard(granted) || isManagement(required)) return false
  // `emails:*` covers `emails:send` and `emails:send:bulk`, but not `emails` itself.
  return required.length > granted.length - 1 && required.startsWith(granted.slice(0, -1))
}

/**
 * Whether a key with `granted` scopes (null = unscoped) holds `required`. Unscoped keys hold every
 * product scope and no management scope.
 */
export const holds = (granted: ReadonlyArray<string> | null, required: string): boolean => {
  if (granted === null) return !isManagement(required)
  for (let i = 0; i < granted.length; i++) if (grants(granted[i]!, required)) return true
  return false
}

/** The scopes of `required` that `granted` does not hold, in order; empty when all are held. */
export const missing = (
  granted: ReadonlyArray<string> | null,
  required: ReadonlyArray<string>
): ReadonlyArray<string> => {
  let absent: Array<string> | undefined
  for (let i = 0; i < required.length; i++) {
    const scope = required[i]!
    if (holds(granted, scope)) continue
    absent ??= []
    absent.push(scope)
  }
  return absent ?? NONE_MISSING
}

// Shared so the common answer (nothing missing) allocates nothing on the verification path.
const NONE_MISSING: ReadonlyArray<string> = Object.freeze([])

/**
 * Checks granted scopes against a catalogue of product scopes (`KEYS_SCOPES`); management scopes are
 * always allowed. A wildcard must cover at least one catalogue entry. Returns the first scope the
 * catalogue does not know, if any.
 */
export const notInCatalogue = (
  scopes: ReadonlyArray<string>,
  catalogue: ReadonlySet<string>
): string | undefined =>
  scopes.find((scope) => {
    if (isManagement(scope) || catalogue.has(scope)) return false
    if (isWildcard(scope)) {
      for (const entry of catalogue) if (grants(scope, entry)) return false
    }
    return true
  })

/**
 * The management scopes in `requested` that a key holding `granter` may not hand out: a key can
 * grant a management scope only if it holds that scope itself, so no key mints a stronger one.
 */
export const ungrantable = (
  granter: ReadonlyArray<string> | null,
  requested: ReadonlyArray<string> | null | undefined
): ReadonlyArray<string> => (requested ?? []).filter((scope) => isManagement(scope) && !holds(granter, scope))

/** Removes duplicates, keeping the first occurrence's order. */
export const normalize = (scopes: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(scopes)]
