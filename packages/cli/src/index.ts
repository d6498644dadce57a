/** @keys/cli: the `keys` command tree, for embedding in other Effect CLIs. */
export * as Cli from "./Cli.js"
export * as Errors from "./Errors.js"
export * as Format from "./Format.js"
