import { describe, expect, it } from "vitest"
import { formatRelative, isExpiringSoon } from "../src/time.js"

const NOW = Date.parse("2026-03-10T12:00:00.000Z")
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

describe("formatRelative", () => {
  it.each([
    [-10_000, "just now"],
    [30_000, "just now"],
    [-3 * MINUTE, "3 minutes ago"],
    [-61_000, "1 minute ago"],
    [5 * HOUR, "in 5 hours"],
    [6 * DAY, "in 6 days"],
    [-2 * DAY, "2 days ago"],
    [90 * DAY, "in 3 months"],
    [-800 * DAY, "2 years ago"]
  ])("%d ms from now reads %s", (offset, expected) => {
    expect(formatRelative(new Date(NOW + offset).toISOString(), NOW)).toBe(expected)
  })

  it("says unknown for a date it cannot read", () => {
    expect(formatRelative("not a date", NOW)).toBe("unknown")
  })
})

describe("isExpiringSoon", () => {
  const at = (offset: number | null, status = "active") => ({
    status,
    expiresAt: offset === null ? null : new Date(NOW + offset).toISOString()
  })

  it("marks active keys expiring within 7 days", () => {
    expect(isExpiringSoon(at(6 * DAY), NOW)).toBe(true)
    expect(isExpiringSoon(at(8 * DAY), NOW)).toBe(false)
    expect(isExpiringSoon(at(null), NOW)).toBe(false)
  })

  it("does not mark keys already expired or revoked", () => {
    expect(isExpiringSoon(at(-HOUR, "expired"), NOW)).toBe(false)
    expect(isExpiringSoon(at(HOUR, "revoked"), NOW)).toBe(false)
  })
})
