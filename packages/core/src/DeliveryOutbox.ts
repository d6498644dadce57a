/**
 * The outbox of expiry notifications: deliveries recorded by the claiming transaction, then handed
 * to a queue (`markEnqueued`) and finally delivered or given up (`markDead`). A crash between any
 * two steps leaves the delivery pending, so it is relayed again: nothing claimed is ever lost.
 */
import { Context, type Effect, type Option } from "effect"
import type { ApiKeyRecord } from "./ApiKey.js"
import type { StoreUnavailable } from "./Errors.js"

export interface PendingDelivery {
  readonly id: string
  readonly teamId: string
  readonly threshold: string
}

export interface Delivery extends PendingDelivery {
  readonly keys: ReadonlyArray<ApiKeyRecord>
  readonly createdAt: Date
  readonly deliveredAt: Date | null
  readonly deadAt: Date | null
}

export class DeliveryOutbox extends Context.Tag("@keys/core/DeliveryOutbox")<
  DeliveryOutbox,
  {
    /** Deliveries not yet handed to a queue (nor delivered, nor dead), oldest first. */
    readonly pending: (limit: number) => Effect.Effect<ReadonlyArray<PendingDelivery>, StoreUnavailable>
    readonly markEnqueued: (ids: ReadonlyArray<string>, at: Date) => Effect.Effect<void, StoreUnavailable>
    readonly load: (id: string) => Effect.Effect<Option.Option<Delivery>, StoreUnavailable>
    readonly markDelivered: (id: string, at: Date) => Effect.Effect<void, StoreUnavailable>
    /** The dead-letter record: retries are exhausted; `reason` is for operators (no secret). */
    readonly markDead: (id: string, at: Date, reason: string) => Effect.Effect<void, StoreUnavailable>
  }
>() {}
