import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { sha256Hex } from "../src/node/index.js"

describe("sha256Hex", () => {
  it("is SHA-256 of the UTF-8 text, as lowercase hex", () => {
    // FIPS 180-2 test vector.
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    for (const text of ["", "sk_live_3xaQ", "é€😀 not ascii", "x".repeat(10_000)]) {
      expect(sha256Hex(text)).toBe(createHash("sha256").update(text, "utf8").digest("hex"))
    }
  })
})
