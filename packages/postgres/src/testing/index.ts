/** Test utilities: databases of their own on a real PostgreSQL. */
export * as TestDatabase from "./TestDatabase.js"
