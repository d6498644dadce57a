import { describe, expect, it } from "@effect/vitest"
import { Duration, Either } from "effect"
import { DurationText } from "../src/index.js"

describe("DurationText", () => {
  it("parses every unit and 0", () => {
    expect(DurationText.parse("500ms")).toEqual(Either.right(Duration.millis(500)))
    expect(DurationText.parse("2s")).toEqual(Either.right(Duration.millis(2000)))
    expect(DurationText.parse("30m")).toEqual(Either.right(Duration.millis(1_800_000)))
    expect(DurationText.parse("24h")).toEqual(Either.right(Duration.millis(86_400_000)))
    expect(DurationText.parse("7d")).toEqual(Either.right(Duration.millis(604_800_000)))
    expect(DurationText.parse("0")).toEqual(Either.right(Duration.zero))
  })

  it("rejects everything else with a message saying what is accepted", () => {
    for (const bad of ["", "7", "1w", "-1d", "1.5h", "d", "7 d", "99999999999999999d"]) {
      const result = DurationText.parse(bad)
      expect(Either.isLeft(result)).toBe(true)
    }
    expect(DurationText.parse("1w")).toEqual(Either.left(expect.stringContaining("ms, s, m, h or d")))
  })

  it("formats canonically", () => {
    expect(DurationText.format(Duration.hours(168))).toBe("7d")
    expect(DurationText.format(Duration.minutes(90))).toBe("90m")
    expect(DurationText.format(Duration.millis(1500))).toBe("1500ms")
    expect(DurationText.format(Duration.zero)).toBe("0")
  })

  it("parses lists", () => {
    expect(DurationText.parseList("7d, 1d,0")).toEqual(
      Either.right([Duration.days(7), Duration.days(1), Duration.zero])
    )
    expect(Either.isLeft(DurationText.parseList(" , "))).toBe(true)
  })
})
