/**
 * @keys/bullmq: the core's usage and delivery queues on BullMQ + Redis, and their consumers.
 */
export * as BullMqDeliveryQueue from "./BullMqDeliveryQueue.js"
export * as BullMqUsageSink from "./BullMqUsageSink.js"
export * as Queues from "./Queues.js"
export * as Redis from "./Redis.js"
export * as Workers from "./Workers.js"
