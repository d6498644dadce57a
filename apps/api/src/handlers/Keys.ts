/** Management endpoints: every call needs a management scope and stays within the caller's team. */
import { HttpApiBuilder } from "@effect/platform"
import { type ApiKey, ApiKeys, type Errors, Scope } from "@keys/core"
import { ApiErrors, KeyAuth, KeysApi } from "@keys/http"
import { Duration, Effect, Redacted } from "effect"

/** Maps the core's failures to the contract's errors: the only place handlers translate them. */
export const domainErrors = <A, R>(
  effect: Effect.Effect<A, Errors.InvalidInput | Errors.KeyNotFound | Errors.StoreUnavailable, R>
) =>
  effect.pipe(
    Effect.catchTags({
      InvalidInput: (error) => Effect.fail(ApiErrors.fromInvalidInput(error)),
      KeyNotFound: (error) => Effect.fail(ApiErrors.fromKeyNotFound(error)),
      StoreUnavailable: (error) => Effect.fail(ApiErrors.fromStoreUnavailable(error))
    })
  )

/**
 * The team a call acts on: the caller's own, or another one named explicitly, which needs `admin`.
 * Checks `scope` first so a key without management rights learns nothing more.
 */
export const actingTeam = (scope: string, requested: string | undefined) =>
  Effect.gen(function* () {
    const key = yield* KeyAuth.requireScopes(scope)
    if (requested === undefined || requested === key.teamId)
      return { teamId: key.teamId, actor: { keyId: key.id } }
    yield* KeyAuth.requireScopes("admin")
    return { teamId: requested, actor: { keyId: key.id } }
  })

const created = (result: ApiKey.CreatedKey) => ({ ...result.key, key: Redacted.value(result.secret) })

/** A key hands out only the management scopes it holds itself: no key mints a stronger one. */
const mayGrant = (scopes: ReadonlyArray<string> | null | undefined) =>
  Effect.flatMap(KeyAuth.CurrentKey, (caller) => {
    const refused = Scope.ungrantable(caller.scopes, scopes)
    return refused.length === 0
      ? Effect.void
      : Effect.fail(
          new ApiErrors.InsufficientScope({
            message: `Only a key holding ${refused.join(", ")} may grant ${refused.length === 1 ? "it" : "them"}.`,
            requiredScopes: refused
          })
        )
  })

export const KeysLive = HttpApiBuilder.group(KeysApi.KeysApi, "keys", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys.ApiKeys
    return handlers
      .handle("create", ({ payload }) =>
        Effect.gen(function* () {
          const { teamId, actor } = yield* actingTeam("keys:write", payload.teamId)
          yield* mayGrant(payload.scopes)
          return created(yield* domainErrors(keys.create({ ...payload, teamId }, actor)))
        })
      )
      .handle("list", ({ urlParams }) =>
        Effect.gen(function* () {
          const { teamId } = yield* actingTeam("keys:read", urlParams.teamId)
          return yield* domainErrors(keys.list({ ...urlParams, teamId }))
        })
      )
      .handle("get", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const { teamId } = yield* actingTeam("keys:read", urlParams.teamId)
          return yield* domainErrors(keys.get(teamId, path.id))
        })
      )
      .handle("update", ({ path, urlParams, payload }) =>
        Effect.gen(function* () {
          const { teamId, actor } = yield* actingTeam("keys:write", urlParams.teamId)
          yield* mayGrant(payload.scopes)
          return yield* domainErrors(keys.update(teamId, path.id, payload, actor))
        })
      )
      .handle("revoke", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const { teamId, actor } = yield* actingTeam("keys:write", urlParams.teamId)
          return yield* domainErrors(keys.revoke(teamId, path.id, actor))
        })
      )
      .handle("roll", ({ path, urlParams, payload }) =>
        Effect.gen(function* () {
          const { teamId, actor } = yield* actingTeam("keys:write", urlParams.teamId)
          const gracePeriod = Duration.seconds(payload.gracePeriodSeconds ?? 0)
          return created(yield* domainErrors(keys.roll(teamId, path.id, { gracePeriod }, actor)))
        })
      )
  })
)
