import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { WebhookNotifier, WebhookSignature } from "../src/index.js"

describe("WebhookSignature", () => {
  it.effect("signs and verifies, refusing tampering, other secrets and old timestamps", () =>
    Effect.promise(async () => {
      const body = JSON.stringify({ type: "keys.expiring", teamId: "a" })
      const header = await WebhookSignature.sign("whsec_1", body, 1_900_000_000)
      expect(header).toMatch(/^t=1900000000,v1=[0-9a-f]{64}$/)
      const verify = (secret: string, h: string | null, b: string, now = 1_900_000_010) =>
        WebhookSignature.verifyWebhookSignature(secret, h, b, { nowSeconds: now })
      expect(await verify("whsec_1", header, body)).toBe(true)
      expect(await verify("whsec_2", header, body)).toBe(false)
      expect(await verify("whsec_1", header, `${body} `)).toBe(false)
      expect(await verify("whsec_1", header, body, 1_900_001_000)).toBe(false)
      expect(await verify("whsec_1", null, body)).toBe(false)
      expect(await verify("whsec_1", "garbage", body)).toBe(false)
    })
  )
})

describe("WebhookNotifier", () => {
  it.live("POSTs the signed body and fails on a non-2xx answer", () =>
    Effect.gen(function* () {
      const received: Array<{ signature: string | undefined; body: string }> = []
      let status = 500
      const server = createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          received.push({ signature: req.headers["keys-signature"] as string | undefined, body })
          res.writeHead(status).end()
        })
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
      const notifier = WebhookNotifier.make({ url, secret: Redacted.make("whsec_test") })
      const notification = {
        id: "dlv_1",
        type: "keys.expiring" as const,
        teamId: "t",
        threshold: "7d",
        keys: []
      }
      const failed = yield* Effect.flip(notifier.deliver(notification))
      expect(failed.message).toContain("500")
      status = 200
      yield* notifier.deliver(notification)
      expect(received).toHaveLength(2)
      const last = received[1]!
      expect(JSON.parse(last.body)).toEqual({
        id: "dlv_1",
        type: "keys.expiring",
        teamId: "t",
        threshold: "7d",
        keys: []
      })
      expect(
        yield* Effect.promise(() =>
          WebhookSignature.verifyWebhookSignature("whsec_test", last.signature, last.body)
        )
      ).toBe(true)
    }).pipe(Effect.scoped)
  )
})
