import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { Cursor } from "../src/index.js"

describe("Cursor", () => {
  it("round-trips positions", () => {
    const position = { at: new Date("2030-01-02T03:04:05.678Z"), id: "key_abc123" }
    expect(Cursor.decode(Cursor.encode(position))).toEqual(Either.right(position))
  })

  it("refuses anything it did not make, without throwing (property)", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const result = Cursor.decode(text)
        // Whatever decodes must be a position the store can use.
        return (
          Either.isLeft(result) ||
          (Number.isFinite(result.right.at.getTime()) && /^[A-Za-z0-9_]+$/.test(result.right.id))
        )
      })
    )
    expect(Either.isLeft(Cursor.decode("bm90LWEtY3Vyc29y"))).toBe(true)
  })
})
