import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { Expiry } from "../src/index.js"
import { makeRecord } from "../src/testing/KeyRepositorySuite.js"

const now = new Date("2030-01-10T00:00:00.000Z")
const inHours = (hours: number) => new Date(now.getTime() + hours * 3_600_000)
const thresholds = [Duration.days(7), Duration.days(1), Duration.zero]

describe("Expiry", () => {
  it("cuts time before expiry into windows, largest threshold first", () => {
    expect(Expiry.windows(now, thresholds)).toEqual([
      { threshold: "7d", expiresAfter: inHours(24), expiresAtOrBefore: inHours(168) },
      { threshold: "1d", expiresAfter: inHours(0), expiresAtOrBefore: inHours(24) },
      { threshold: "0", expiresAfter: inHours(-24), expiresAtOrBefore: inHours(0) }
    ])
  })

  it("picks the most urgent threshold a key has crossed, never a stale one", () => {
    const scan = Expiry.windows(now, thresholds)
    const due = (expiresAt: Date | null, revokedAt: Date | null = null) =>
      Expiry.dueWindow(makeRecord({ expiresAt, revokedAt }), scan)?.threshold
    expect(due(inHours(100))).toBe("7d")
    expect(due(inHours(168))).toBe("7d")
    expect(due(inHours(169))).toBeUndefined()
    expect(due(inHours(12))).toBe("1d")
    expect(due(inHours(0))).toBe("0")
    expect(due(inHours(-5))).toBe("0")
    expect(due(inHours(-25))).toBeUndefined()
    expect(due(null)).toBeUndefined()
    expect(due(inHours(12), inHours(-1))).toBeUndefined()
  })

  it("assigns one delivery per team and threshold of a scan", () => {
    const a1 = makeRecord({ teamId: "a" })
    const a2 = makeRecord({ teamId: "a" })
    const b1 = makeRecord({ teamId: "b" })
    const claims = Expiry.assignDeliveries("scan1", [
      { key: a1, threshold: "7d" },
      { key: b1, threshold: "0" },
      { key: a2, threshold: "7d" },
      { key: a2, threshold: "1d" }
    ])
    expect(claims.map((claim) => claim.deliveryId)).toEqual([
      "dlv_scan1_0",
      "dlv_scan1_1",
      "dlv_scan1_0",
      "dlv_scan1_2"
    ])
    expect(Expiry.notificationType("0")).toBe("keys.expired")
    expect(Expiry.notificationType("7d")).toBe("keys.expiring")
  })
})
