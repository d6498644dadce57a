/**
 * The handlers: each states its scope; sending also checks the sender's domain against the key's
 * resources. Test keys never deliver: the environment comes from the verified key, not the prefix.
 */
import { randomUUID } from "node:crypto"
import { HttpApiBuilder } from "@effect/platform"
import { ApiErrors, KeyAuth } from "@keys/http"
import { Clock, Effect } from "effect"
import { MailApi, type Message } from "./MailApi.js"
import { Messages } from "./Messages.js"

const domainOf = (address: string) => address.slice(address.lastIndexOf("@") + 1).toLowerCase()

const notFound = (id: string) => new ApiErrors.NotFound({ message: `No message ${id.slice(0, 64)}.` })

export const EmailsLive = HttpApiBuilder.group(MailApi, "emails", (handlers) =>
  Effect.gen(function* () {
    const messages = yield* Messages

    const send = (request: {
      readonly from: string
      readonly to: ReadonlyArray<string>
      readonly subject: string
    }) =>
      Effect.gen(function* () {
        const key = yield* KeyAuth.requireScopes("send")
        yield* KeyAuth.requireResource(domainOf(request.from))
        const message: Message = {
          id: `msg_${randomUUID()}`,
          from: request.from,
          to: request.to,
          subject: request.subject,
          status: key.environment === "test" ? "sandboxed" : "queued",
          keyId: key.id,
          createdAt: new Date(yield* Clock.currentTimeMillis)
        }
        return yield* messages.add(key.teamId, message)
      })

    return handlers
      .handle("send", ({ payload }) => send(payload))
      .handle("sendRaw", ({ payload }) => send({ from: payload.from, to: payload.to, subject: "(raw)" }))
      .handle("list", () =>
        Effect.gen(function* () {
          const key = yield* KeyAuth.requireScopes("read")
          return { data: yield* messages.list(key.teamId) }
        })
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const key = yield* KeyAuth.requireScopes("read")
          return (yield* messages.find(key.teamId, path.id)) ?? (yield* notFound(path.id))
        })
      )
      .handle("cancel", ({ path }) =>
        Effect.gen(function* () {
          const key = yield* KeyAuth.requireScopes("cancel")
          return (yield* messages.cancel(key.teamId, path.id)) ?? (yield* notFound(path.id))
        })
      )
      .handle("context", () =>
        Effect.map(KeyAuth.requireScopes("read"), (key) => ({
          teamId: key.teamId,
          keyId: key.id,
          environment: key.environment,
          scopes: key.scopes
        }))
      )
  })
)
