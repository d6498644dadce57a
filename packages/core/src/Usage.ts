/** Aggregated usage: one entry per key per flush, however many verifications it stands for. */
export interface UsageEntry {
  readonly keyId: string
  readonly lastUsedAt: Date
  readonly count: number
}

/**
 * The most entries one batch carries: a flush over more keys is sent as several batches, so no
 * single statement grows past what the store answers within its timeout.
 */
export const MAX_ENTRIES_PER_BATCH = 5_000

export interface UsageBatch {
  /** Unique per flush: lets a store apply a replayed batch's counts only once. */
  readonly id: string
  readonly entries: ReadonlyArray<UsageEntry>
}

/** Merges batches (last use = the latest, counts added), one entry per key. */
export const mergeEntries = (
  batches: ReadonlyArray<ReadonlyArray<UsageEntry>>
): ReadonlyArray<UsageEntry> => {
  const merged = new Map<string, { lastUsedAt: Date; count: number }>()
  for (const entries of batches) {
    for (const entry of entries) {
      const current = merged.get(entry.keyId)
      if (current === undefined) merged.set(entry.keyId, { lastUsedAt: entry.lastUsedAt, count: entry.count })
      else {
        if (entry.lastUsedAt > current.lastUsedAt) current.lastUsedAt = entry.lastUsedAt
        current.count += entry.count
      }
    }
  }
  return [...merged].map(([keyId, { lastUsedAt, count }]) => ({ keyId, lastUsedAt, count }))
}
