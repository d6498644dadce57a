/** Messages in memory, per team: nothing is really sent. */
import { Context, Effect, Layer, Ref } from "effect"
import type { Message } from "./MailApi.js"

export class Messages extends Context.Tag("@keys/example-mail-api/Messages")<
  Messages,
  {
    readonly add: (teamId: string, message: Message) => Effect.Effect<Message>
    readonly list: (teamId: string) => Effect.Effect<ReadonlyArray<Message>>
    readonly find: (teamId: string, id: string) => Effect.Effect<Message | undefined>
    readonly cancel: (teamId: string, id: string) => Effect.Effect<Message | undefined>
  }
>() {}

export const layer = Layer.effect(
  Messages,
  Effect.map(Ref.make(new Map<string, Array<Message>>()), (store) => ({
    add: (teamId, message) =>
      Ref.update(store, (all) => new Map(all).set(teamId, [message, ...(all.get(teamId) ?? [])])).pipe(
        Effect.as(message)
      ),
    list: (teamId) => Effect.map(Ref.get(store), (all) => all.get(teamId) ?? []),
    find: (teamId, id) =>
      Effect.map(Ref.get(store), (all) => all.get(teamId)?.find((message) => message.id === id)),
    cancel: (teamId, id) =>
      Ref.modify(store, (all) => {
        const messages = all.get(teamId) ?? []
        const found = messages.find((message) => message.id === id)
        if (found === undefined) return [undefined, all]
        const cancelled = { ...found, status: "cancelled" as const }
        return [
          cancelled,
          new Map(all).set(
            teamId,
            messages.map((message) => (message.id === id ? cancelled : message))
          )
        ]
      })
  }))
)
