/**
 * "Key changed" events across API instances. A store adapter announces every change atomically
 * with it; each instance evicts the key from its cache.
 *
 * A subscription that drops emits `Lost`: from then on events may be missed, so the instance stops
 * trusting its cache (each verification asks the store again, and a cached record is used only when
 * the store cannot answer). Once subscribed again it emits `Reset`: events sent in the gap are gone,
 * so the instance clears its whole cache and trusts it again.
 */
import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"
import type { StoreUnavailable } from "./Errors.js"

export type InvalidationEvent =
  | { readonly _tag: "KeyChanged"; readonly hash: string }
  | { readonly _tag: "Lost" }
  | { readonly _tag: "Reset" }

export class Invalidations extends Context.Tag("@keys/core/Invalidations")<
  Invalidations,
  {
    readonly publish: (hash: string) => Effect.Effect<void, StoreUnavailable>
    /**
     * Subscribes now (no event published after this returns is missed) and yields the events for
     * as long as the scope lives.
     */
    readonly subscribe: Effect.Effect<Stream.Stream<InvalidationEvent>, never, Scope.Scope>
  }
>() {}

/** In-process adapter: one hub shared by every service built in this process. */
export const makeInProcess: Effect.Effect<Invalidations["Type"]> = Effect.map(
  PubSub.unbounded<InvalidationEvent>(),
  (hub) => ({
    publish: (hash) => Effect.asVoid(PubSub.publish(hub, { _tag: "KeyChanged", hash })),
    subscribe: Effect.map(PubSub.subscribe(hub), (dequeue) => Stream.fromQueue(dequeue))
  })
)

export const layerInProcess: Layer.Layer<Invalidations> = Layer.effect(Invalidations, makeInProcess)
