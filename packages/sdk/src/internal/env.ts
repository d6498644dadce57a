/**
 * Environment variables without importing `node:process`: `process.env` where the runtime has one
 * (Node, Bun, Deno 2), nothing elsewhere (browsers, edge workers pass options instead).
 */
type ProcessLike = { readonly env?: { readonly [name: string]: string | undefined } }

/** The variable's value, or undefined when it is unset or blank. */
export const readEnv = (name: string): string | undefined => {
  const value = (globalThis as { readonly process?: ProcessLike }).process?.env?.[name]
  return value === undefined || value.trim() === "" ? undefined : value
}
