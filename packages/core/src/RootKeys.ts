/**
 * Root keys: ordinary keys holding the management scopes, which drive the keys API itself. With
 * `admin` they act on every team.
 */
import { Effect } from "effect"
import type { CreatedKey } from "./ApiKey.js"
import { ApiKeys } from "./ApiKeys.js"
import type { InvalidInput, StoreUnavailable } from "./Errors.js"
import * as Scope from "./Scope.js"

export const scopes = (admin: boolean): ReadonlyArray<string> => [
  Scope.KEYS_READ,
  Scope.KEYS_WRITE,
  Scope.KEYS_VERIFY,
  ...(admin ? [Scope.ADMIN] : [])
]

export const create = (options: {
  readonly teamId: string
  readonly name: string
  readonly admin: boolean
}): Effect.Effect<CreatedKey, InvalidInput | StoreUnavailable, ApiKeys> =>
  Effect.flatMap(ApiKeys, (keys) =>
    keys.create({ teamId: options.teamId, name: options.name, scopes: [...scopes(options.admin)] })
  )
