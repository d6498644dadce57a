/**
 * Last line of defence for logs and error messages: anything shaped like a key (a short lowercase
 * prefix, an underscore and a long base62 run) is replaced before text leaves the process.
 */
const TOKEN_LIKE = /\b[a-z][a-z0-9]{0,15}_(?:[a-z0-9]{1,16}_)?[0-9A-Za-z]{20,}/g

export const REDACTED = "<redacted>"

export const redactSecrets = (text: string): string => text.replace(TOKEN_LIKE, REDACTED)

/** Whether text contains something shaped like a key. */
export const containsSecretLike = (text: string): boolean => {
  TOKEN_LIKE.lastIndex = 0
  const found = TOKEN_LIKE.test(text)
  TOKEN_LIKE.lastIndex = 0
  return found
}
