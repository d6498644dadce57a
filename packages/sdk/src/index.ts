/**
 * `@keys/sdk`: a typed client for the keys API. `new Keys()` is the Promise facade; its errors all
 * extend `KeysError`. Effect users import `KeysClient` from `@keys/sdk/effect` instead.
 */
export {
  type CreatedKey,
  type CreateKeyParams,
  type Key,
  type KeyPage,
  Keys,
  type KeysOptions,
  type ListParams,
  type RollParams,
  type TeamOptions,
  type TimeInput,
  type UpdateKeyParams,
  type VerifyParams,
  type VerifyResult
} from "./Keys.js"
export {
  AuthenticationError,
  type ErrorCode,
  KeysError,
  type KeysErrorFields,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ValidationError
} from "./KeysError.js"
