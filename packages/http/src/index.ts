/**
 * @keys/http: the keys HTTP API definition, its error contract, and key authentication for
 * Effect HTTP services and for services that do not use Effect.
 */
export * as ApiErrors from "./ApiErrors.js"
export * as Authenticate from "./Authenticate.js"
export * as KeyAuth from "./KeyAuth.js"
export * as KeysApi from "./KeysApi.js"
export * as RequestBody from "./RequestBody.js"
export * as RemoteVerifier from "./RemoteVerifier.js"
