/**
 * The mail platform's own API: what its customers call with the keys it hands out. Every group
 * sits behind `KeyAuth`; each endpoint names the scope it needs.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { ApiErrors, KeyAuth } from "@keys/http"
import { Schema } from "effect"

export const Address = Schema.String.pipe(
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "must be an email address" }),
  Schema.maxLength(320)
)

export const Message = Schema.Struct({
  id: Schema.String,
  from: Schema.String,
  to: Schema.Array(Schema.String),
  subject: Schema.String,
  /** `sandboxed` for messages sent with a test key: never delivered. */
  status: Schema.Literal("queued", "sandboxed", "cancelled"),
  keyId: Schema.String,
  createdAt: Schema.Date
})
export type Message = typeof Message.Type

export const SendRequest = Schema.Struct({
  from: Address,
  to: Schema.Array(Address).pipe(Schema.minItems(1), Schema.maxItems(50)),
  subject: Schema.String.pipe(Schema.maxLength(998)),
  text: Schema.optional(Schema.String.pipe(Schema.maxLength(20_000)))
})

export const SendRawRequest = Schema.Struct({
  from: Address,
  to: Schema.Array(Address).pipe(Schema.minItems(1), Schema.maxItems(50)),
  raw: Schema.String.pipe(Schema.maxLength(40_000))
})

export const Context = Schema.Struct({
  teamId: Schema.String,
  keyId: Schema.String,
  environment: Schema.Literal("live", "test"),
  scopes: Schema.NullOr(Schema.Array(Schema.String))
})

const id = HttpApiSchema.param("id", Schema.String)

export class Emails extends HttpApiGroup.make("emails")
  .add(HttpApiEndpoint.post("send", "/v1/send").setPayload(SendRequest).addSuccess(Message, { status: 202 }))
  .add(
    HttpApiEndpoint.post("sendRaw", "/v1/send-raw")
      .setPayload(SendRawRequest)
      .addSuccess(Message, { status: 202 })
  )
  .add(HttpApiEndpoint.get("list", "/v1/messages").addSuccess(Schema.Struct({ data: Schema.Array(Message) })))
  .add(HttpApiEndpoint.get("get")`/v1/messages/${id}`.addSuccess(Message))
  .add(HttpApiEndpoint.del("cancel")`/v1/messages/${id}`.addSuccess(Message))
  .add(HttpApiEndpoint.get("context", "/v1/context").addSuccess(Context))
  .addError(ApiErrors.InsufficientScope)
  .addError(ApiErrors.ResourceNotAllowed)
  .addError(ApiErrors.NotFound)
  .middleware(KeyAuth.KeyAuth) {}

export class MailApi extends HttpApi.make("mail").add(Emails) {}
