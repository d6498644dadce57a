/**
 * `@keys/sdk/effect`: the keys API as an Effect service (`KeysClient`) whose failures are tagged
 * errors with the same names as the Promise facade's error classes.
 */
export {
  AuthenticationError,
  type ClientError,
  type ErrorCode,
  isClientError,
  isTransient,
  KeysError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ValidationError
} from "./ClientError.js"
export * as KeysClient from "./KeysClient.js"
