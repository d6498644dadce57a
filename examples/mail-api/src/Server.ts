/**
 * The mail API served with @effect/platform, in one of two verification modes:
 * - in process: the platform imports `@keys/core` + `@keys/postgres` and verifies against its own
 *   database (the "import the core into your service" way);
 * - remote: every verification is a call to a running keys API (the "any language" way).
 */
import { createServer } from "node:http"
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ApiKeys, KeysConfig, SecureRandom, UsageSink } from "@keys/core"
import { KeyHasherLive } from "@keys/core/node"
import { KeyAuth, RemoteVerifier } from "@keys/http"
import { PgStore } from "@keys/postgres"
import { Layer, type Redacted } from "effect"
import { EmailsLive } from "./Handlers.js"
import { MailApi } from "./MailApi.js"
import * as Messages from "./Messages.js"

export type Mode =
  | {
      readonly _tag: "InProcess"
      readonly databaseUrl: Redacted.Redacted<string>
      readonly settings?: Partial<KeysConfig.Settings>
    }
  | { readonly _tag: "Remote"; readonly keysApiUrl: string; readonly rootKey: Redacted.Redacted<string> }

/** Where verifications are answered: the only line that differs between the two modes. */
export const verifier = (mode: Mode) =>
  mode._tag === "Remote"
    ? RemoteVerifier.layer({ baseUrl: mode.keysApiUrl, apiKey: mode.rootKey })
    : KeyAuth.layerInProcess.pipe(
        Layer.provide(ApiKeys.layerWithCompanions),
        Layer.provide(UsageSink.layerDirect),
        Layer.provide(PgStore.layer({ url: mode.databaseUrl })),
        Layer.provide(Layer.mergeAll(KeyHasherLive, SecureRandom.layer, KeysConfig.layer(mode.settings)))
      )

export const layer = (mode: Mode, port: number) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiBuilder.api(MailApi).pipe(Layer.provide(EmailsLive), Layer.provide(Messages.layer))),
    Layer.provide(KeyAuth.layer),
    Layer.provide(verifier(mode)),
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
