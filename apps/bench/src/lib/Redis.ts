/** The machine's Redis (127.0.0.1:6379) under a key prefix of this run, deleted at cleanup. */
import { randomBytes } from "node:crypto"
import { Redis } from "ioredis"
import { onCleanup } from "./Cleanup.js"
import { runId } from "./Mode.js"

export const REDIS_URL = "redis://127.0.0.1:6379"
export const PREFIX_ROOT = "keys-bench"

export const deleteByPattern = async (pattern: string): Promise<number> => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true })
  redis.on("error", () => undefined)
  try {
    await redis.connect()
    let cursor = "0"
    let deleted = 0
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000)
      cursor = next
      if (keys.length > 0) deleted += await redis.del(...keys)
    } while (cursor !== "0")
    return deleted
  } finally {
    redis.disconnect()
  }
}

/** A fresh BullMQ prefix; its keys are deleted at cleanup. */
export const freshPrefix = (label: string): string => {
  const prefix = `${PREFIX_ROOT}:${runId}:${label}-${randomBytes(3).toString("hex")}`
  onCleanup(() => deleteByPattern(`${prefix}:*`).catch(() => 0))
  return prefix
}

export const ping = async (): Promise<boolean> => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 2_000 })
  redis.on("error", () => undefined)
  try {
    await redis.connect()
    return (await redis.ping()) === "PONG"
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}
