/**
 * The queues, their job payloads and retry policies, in one place.
 */
import type { Usage } from "@keys/core"
import type { JobsOptions } from "bullmq"
import { Schema } from "effect"

export const USAGE = "usage"
export const EXPIRY_SCAN = "expiry-scan"
export const DELIVERIES = "deliveries"

/** A usage batch as a job carries it. */
export const UsageBatchJob = Schema.Struct({
  id: Schema.String,
  entries: Schema.Array(Schema.Struct({ keyId: Schema.String, lastUsedAt: Schema.Date, count: Schema.Int }))
})

export const encodeUsageBatch = (batch: Usage.UsageBatch): typeof UsageBatchJob.Encoded =>
  Schema.encodeSync(UsageBatchJob)(batch)
export const decodeUsageBatch = Schema.decodeUnknownEither(UsageBatchJob)

export const DeliveryJob = Schema.Struct({ deliveryId: Schema.String })

/** Usage: the batch id is the job id, so a flush retried after a lost acknowledgement is one job. */
export const usageJobOptions = (batchId: string): JobsOptions => ({
  jobId: batchId,
  attempts: 10,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 }
})

/**
 * Deliveries: 8 tries with exponential backoff from 5 s (5, 10, 20, … 320 s: about 10.5 minutes in
 * all). Completed jobs are kept a day, so a relay of the same delivery id is ignored as a duplicate.
 */
export const DELIVERY_ATTEMPTS = 8
export const deliveryJobOptions = (deliveryId: string): JobsOptions => ({
  jobId: deliveryId,
  attempts: DELIVERY_ATTEMPTS,
  backoff: { type: "exponential", delay: 5_000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 30 * 86_400 }
})
