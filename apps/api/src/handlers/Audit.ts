/** The audit log: who changed which key, when, and what changed. */
import { HttpApiBuilder } from "@effect/platform"
import { ApiKeys } from "@keys/core"
import { KeysApi } from "@keys/http"
import { Effect } from "effect"
import { actingTeam, domainErrors } from "./Keys.js"

export const AuditLive = HttpApiBuilder.group(KeysApi.KeysApi, "audit", (handlers) =>
  Effect.gen(function* () {
    const keys = yield* ApiKeys.ApiKeys
    return handlers.handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const { teamId } = yield* actingTeam("keys:read", urlParams.teamId)
        return yield* domainErrors(keys.listAudit({ ...urlParams, teamId }))
      })
    )
  })
)
