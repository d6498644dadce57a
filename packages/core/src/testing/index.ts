/**
 * In-memory adapters for tests. The shared `KeyRepository` behaviour suite (which needs vitest) is
 * exported apart, from `@keys/core/testing/suite`.
 */
export * as InMemoryKeyRepository from "./InMemoryKeyRepository.js"
export * as TestKeys from "./TestKeys.js"
