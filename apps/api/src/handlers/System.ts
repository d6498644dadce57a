/** Liveness, readiness (the database answers) and Prometheus metrics. */
import { HttpApiBuilder } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { ApiKeys, UsageRecorder } from "@keys/core"
import { ApiErrors, KeysApi } from "@keys/http"
import { Duration, Effect } from "effect"
import { ApiMetrics } from "../ApiMetrics.js"

export const SystemLive = HttpApiBuilder.group(KeysApi.KeysApi, "system", (handlers) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* ApiKeys.ApiKeys
    const usage = yield* UsageRecorder.UsageRecorder
    const metrics = yield* ApiMetrics
    return handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        sql`select 1`.pipe(
          Effect.timeout(Duration.seconds(2)),
          Effect.as({ status: "ready" as const }),
          Effect.mapError(
            () => new ApiErrors.ServiceUnavailable({ message: "The database does not answer." })
          )
        )
      )
      .handle("metrics", () => Effect.sync(() => metrics.render(keys.stats(), usage.stats())))
  })
)
