/** Where aggregated usage goes: straight to the store (embedded) or to a queue (`@keys/bullmq`). */
import { Context, Effect, Layer } from "effect"
import { UsageSinkUnavailable } from "./Errors.js"
import { KeyRepository } from "./KeyRepository.js"
import type { UsageBatch } from "./Usage.js"

export class UsageSink extends Context.Tag("@keys/core/UsageSink")<
  UsageSink,
  {
    readonly send: (batch: UsageBatch) => Effect.Effect<void, UsageSinkUnavailable>
  }
>() {}

/** Applies each batch to the repository in one call: the embedded mode's sink. */
export const layerDirect: Layer.Layer<UsageSink, never, KeyRepository> = Layer.effect(
  UsageSink,
  Effect.map(KeyRepository, (repository) => ({
    send: (batch) =>
      repository
        .applyUsageBatches([batch])
        .pipe(
          Effect.mapError((error) => new UsageSinkUnavailable({ message: error.message, cause: error.cause }))
        )
  }))
)
