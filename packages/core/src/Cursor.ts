/**
 * Keyset pagination cursors: the position (time, id) of the last item of a page, newest first.
 * Opaque to callers (base64url), stable under inserts, and cheap for the store (an index range).
 */
import { Either } from "effect"

export interface Position {
  readonly at: Date
  readonly id: string
}

const toBase64Url = (text: string): string =>
  btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

const fromBase64Url = (text: string): string => atob(text.replace(/-/g, "+").replace(/_/g, "/"))

export const encode = (position: Position): string => toBase64Url(`${position.at.getTime()}.${position.id}`)

export const decode = (cursor: string): Either.Either<Position, string> => {
  if (cursor.length === 0 || cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor))
    return Either.left("malformed cursor")
  let text: string
  try {
    text = fromBase64Url(cursor)
  } catch {
    return Either.left("malformed cursor")
  }
  const dot = text.indexOf(".")
  const millis = Number(text.slice(0, dot))
  const id = text.slice(dot + 1)
  if (dot <= 0 || !Number.isSafeInteger(millis) || !/^[A-Za-z0-9_]{1,100}$/.test(id))
    return Either.left("malformed cursor")
  return Either.right({ at: new Date(millis), id })
}

/** Newest first: whether `a` comes before `b` in a listing. */
export const isBefore = (a: Position, b: Position): boolean => {
  const diff = a.at.getTime() - b.at.getTime()
  return diff > 0 || (diff === 0 && a.id > b.id)
}
