/**
 * @keys/postgres: the production store of keys on PostgreSQL, and the embedded PGlite default.
 */
export * as PgDeliveryOutbox from "./PgDeliveryOutbox.js"
export * as PgEmbedded from "./PgEmbedded.js"
export * as PgInvalidations from "./PgInvalidations.js"
export * as PgKeyRepository from "./PgKeyRepository.js"
export * as PgMigrations from "./PgMigrations.js"
export * as PgStore from "./PgStore.js"
