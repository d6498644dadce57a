/**
 * Every plaintext key a test saw minted (create and roll responses, the first-start root key), and
 * the search for them anywhere else: logs, a database dump, response bodies. A leak is either a
 * whole key-shaped token or any run of 24 characters copied from the random body of a recorded key
 * (so a key cut, re-encoded or stripped of its prefix is still found).
 */
import { createHash } from "node:crypto"

/** Anything shaped like a plaintext key of the default format. */
export const KEY_SHAPED = /sk_(?:live|test)_[0-9A-Za-z]{48}/g

const WINDOW = 24
const BASE62_RUN = new RegExp(`[0-9A-Za-z]{${WINDOW},}`, "g")

export interface Leak {
  /** A key-shaped token, or a fragment of a recorded key. */
  readonly kind: "key-shaped" | "fragment"
  /** The leaked text with its middle masked, so a report never prints a whole secret. */
  readonly masked: string
  /** Where: the text around it, masked too. */
  readonly context: string
}

export const mask = (secret: string): string =>
  secret.length <= 16 ? `${secret.slice(0, 4)}…` : `${secret.slice(0, 12)}…${secret.slice(-2)}`

export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

export class SecretLedger {
  private readonly secrets = new Set<string>()
  private readonly windows = new Set<string>()

  get size(): number {
    return this.secrets.size
  }

  has(secret: string): boolean {
    return this.secrets.has(secret)
  }

  add(secret: string): void {
    if (this.secrets.has(secret)) return
    this.secrets.add(secret)
    const body = secret.slice(secret.lastIndexOf("_") + 1)
    for (let i = 0; i + WINDOW <= body.length; i++) this.windows.add(body.slice(i, i + WINDOW))
  }

  /** Every leak in `text`; `allowed` tokens (a response's own new key) are not leaks. */
  findLeaks(text: string, allowed: ReadonlySet<string> = new Set()): Array<Leak> {
    const leaks: Array<Leak> = []
    const context = (index: number, length: number) =>
      text
        .slice(Math.max(0, index - 60), index + length + 60)
        .replace(KEY_SHAPED, (token) => mask(token))
        .replace(/\s+/g, " ")
    for (const match of text.matchAll(KEY_SHAPED)) {
      if (allowed.has(match[0])) continue
      leaks.push({
        kind: "key-shaped",
        masked: mask(match[0]),
        context: context(match.index, match[0].length)
      })
    }
    for (const match of text.matchAll(BASE62_RUN)) {
      const run = match[0]
      for (let i = 0; i + WINDOW <= run.length; i++) {
        const fragment = run.slice(i, i + WINDOW)
        if (!this.windows.has(fragment)) continue
        if (![...allowed].some((token) => token.includes(run))) {
          leaks.push({ kind: "fragment", masked: mask(fragment), context: context(match.index, run.length) })
        }
        break
      }
    }
    return leaks
  }
}

/**
 * The API's output without the first-start banner: the one place a root key is printed, by design
 * (apps/api/src/Bootstrap.ts), for the operator to copy once.
 */
export const withoutBanner = (output: string, rootKey: string | undefined): string => {
  if (rootKey === undefined) return output
  return output
    .split("\n")
    .filter(
      (line) => !(line === `    ${rootKey}` || (line.startsWith("  Try it:  curl") && line.includes(rootKey)))
    )
    .join("\n")
}
