/**
 * "Key changed" events across API instances. A store adapter announces every change atomically
 * with it; each instance evicts the key from its cache. `Reset` means events may have been missed
 * (the subscription dropped): the instance clears its whole cache.
 */
import { Context, Effect, Layer, PubSub, type Scope, Stream } from "effect"
import type { StoreUnavailable } from "./Errors.js"

export type InvalidationEvent =
  | { readonly _tag: "KeyChanged"; readonly hash: string }
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
