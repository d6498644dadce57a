/**
 * Which keys crossed which expiry threshold: pure logic shared by every store and scanner.
 *
 * Thresholds (`7d`, `1d`, `0`) cut time before a key's expiry into windows. A key is due for the
 * threshold whose window `now` falls in: `expiresAt - threshold <= now < expiresAt - nextSmaller`.
 * So a key created 12 hours before its expiry gets the `1d` notice, not a stale `7d` one, and each
 * (key, threshold) pair is claimed at most once by the store's unique index. Keys that expired more
 * than `staleAfter` ago are never notified (a fresh deployment does not page about old keys).
 */
import { Duration } from "effect"
import type { ApiKeyRecord } from "./ApiKey.js"
import * as DurationText from "./DurationText.js"

export const DEFAULT_STALE_AFTER = Duration.days(1)

export interface ExpiryWindow {
  /** Canonical text of the threshold (`7d`, `1d`, `0`). */
  readonly threshold: string
  /** Keys expiring in (expiresAfter, expiresAtOrBefore] are due for this threshold. */
  readonly expiresAfter: Date
  readonly expiresAtOrBefore: Date
}

/** The windows for a scan at `now`, largest threshold first. */
export const windows = (
  now: Date,
  thresholds: ReadonlyArray<Duration.DurationInput>,
  staleAfter: Duration.DurationInput = DEFAULT_STALE_AFTER
): ReadonlyArray<ExpiryWindow> => {
  const millis = [
    ...new Set(thresholds.map((threshold) => Duration.toMillis(Duration.decode(threshold))))
  ].sort((a, b) => b - a)
  const base = now.getTime()
  return millis.map((threshold, index) => {
    const next = index + 1 < millis.length ? millis[index + 1]! : undefined
    return {
      threshold: DurationText.format(Duration.millis(threshold)),
      expiresAfter: new Date(
        next === undefined ? base - Duration.toMillis(Duration.decode(staleAfter)) : base + next
      ),
      expiresAtOrBefore: new Date(base + threshold)
    }
  })
}

/** The window a key is due in at this scan, if any. Revoked keys and keys without expiry never are. */
export const dueWindow = (
  record: ApiKeyRecord,
  scan: ReadonlyArray<ExpiryWindow>
): ExpiryWindow | undefined => {
  if (record.revokedAt !== null || record.expiresAt === null) return undefined
  const expiresAt = record.expiresAt.getTime()
  return scan.find(
    (window) => expiresAt > window.expiresAfter.getTime() && expiresAt <= window.expiresAtOrBefore.getTime()
  )
}

export type NotificationType = "keys.expiring" | "keys.expired"

export const notificationType = (threshold: string): NotificationType =>
  threshold === "0" ? "keys.expired" : "keys.expiring"

export interface ExpiryClaim {
  readonly key: ApiKeyRecord
  readonly threshold: string
  /** The delivery (one per team and threshold of a scan) this claim belongs to. */
  readonly deliveryId: string
}

/**
 * Assigns each (team, threshold) group of one scan's claims its delivery id (`dlv_<scan>_<n>`),
 * in first-seen order. Stores call it inside the claiming transaction and persist the result.
 */
export const assignDeliveries = <A extends { readonly key: ApiKeyRecord; readonly threshold: string }>(
  scanId: string,
  claims: ReadonlyArray<A>
): ReadonlyArray<A & { readonly deliveryId: string }> => {
  const ids = new Map<string, string>()
  return claims.map((claim) => {
    const group = `${claim.key.teamId}\u0000${claim.threshold}`
    let id = ids.get(group)
    if (id === undefined) {
      id = `dlv_${scanId}_${ids.size}`
      ids.set(group, id)
    }
    return { ...claim, deliveryId: id }
  })
}
