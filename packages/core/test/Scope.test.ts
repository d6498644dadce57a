import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Schema } from "effect"
import { Scope } from "../src/index.js"

describe("Scope", () => {
  it("validates the scope grammar", () => {
    for (const valid of ["send", "emails:send", "emails:*", "a.b-c_d:e", "keys:read"])
      expect(Scope.isValid(valid)).toBe(true)
    for (const invalid of ["", "Send", "1send", "*", "emails:*:send", "a b", "x".repeat(65), "émail"]) {
      expect(Scope.isValid(invalid)).toBe(false)
    }
    expect(() =>
      Schema.decodeUnknownSync(Scope.Scopes)(Array.from({ length: 51 }, (_, i) => `s${i}`))
    ).toThrow(/at most 50/)
  })

  it("wildcard segments grant everything below them", () => {
    expect(Scope.holds(["emails:*"], "emails:send")).toBe(true)
    expect(Scope.holds(["emails:*"], "emails:send:bulk")).toBe(true)
    expect(Scope.holds(["emails:*"], "emails")).toBe(false)
    expect(Scope.holds(["emails:*"], "emailsx:send")).toBe(false)
    expect(Scope.holds(["emails:send"], "emails:read")).toBe(false)
  })

  it("unscoped keys hold every product scope and no management scope", () => {
    expect(Scope.holds(null, "send")).toBe(true)
    expect(Scope.holds(null, "anything:at:all")).toBe(true)
    for (const management of Scope.managementScopes) expect(Scope.holds(null, management)).toBe(false)
  })

  it("management scopes are granted only literally", () => {
    expect(Scope.holds(["keys:*"], "keys:read")).toBe(false)
    expect(Scope.holds(["keys:read"], "keys:read")).toBe(true)
    expect(Scope.holds(["keys:read", "keys:write"], "admin")).toBe(false)
  })

  it("reports the missing scopes in order", () => {
    expect(Scope.missing(["send"], ["send", "read", "cancel"])).toEqual(["read", "cancel"])
    expect(Scope.missing(["send", "read"], ["read"])).toEqual([])
  })

  it("lets a key grant only the management scopes it holds itself", () => {
    expect(
      Scope.ungrantable(["keys:read", "keys:write"], ["send", "keys:read", "admin", "keys:verify"])
    ).toEqual(["admin", "keys:verify"])
    expect(Scope.ungrantable(["keys:write", "admin"], ["admin"])).toEqual([])
    expect(Scope.ungrantable(null, ["keys:read"])).toEqual(["keys:read"])
    expect(Scope.ungrantable(["keys:write"], null)).toEqual([])
  })

  it("checks a catalogue, always allowing management scopes", () => {
    const catalogue = new Set(["send", "read", "emails:send"])
    expect(Scope.notInCatalogue(["send", "keys:write", "emails:*"], catalogue)).toBeUndefined()
    expect(Scope.notInCatalogue(["send", "delete"], catalogue)).toBe("delete")
    expect(Scope.notInCatalogue(["domains:*"], catalogue)).toBe("domains:*")
  })

  it("a literal scope always holds itself, and a key holds what its wildcard covers (property)", () => {
    const segment = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/)
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segments) => {
        const scope = segments.join(":")
        fc.pre(!Scope.isManagement(scope))
        const parent = segments.length > 1 ? `${segments.slice(0, -1).join(":")}:*` : undefined
        return Scope.holds([scope], scope) && (parent === undefined || Scope.holds([parent], scope))
      })
    )
  })
})
