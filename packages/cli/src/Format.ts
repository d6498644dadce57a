/**
 * Human output: aligned tables, relative times ("in 6 days", "3 minutes ago") and one key's
 * details. Pure functions of the data and the current time; never given a plaintext key.
 */
import type { KeysClient } from "@keys/sdk/effect"

const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const plural = (count: number, unit: string) => `${count} ${unit}${count === 1 ? "" : "s"}`

/** How far `target` is from `nowMillis`, in the largest unit that reads naturally. */
export const relativeTime = (target: Date, nowMillis: number): string => {
  const difference = target.getTime() - nowMillis
  const distance = Math.abs(difference)
  if (distance < SECOND) return "just now"
  const amount = (() => {
    const seconds = Math.round(distance / SECOND)
    if (seconds < 60) return plural(seconds, "second")
    const minutes = Math.round(distance / MINUTE)
    if (minutes < 60) return plural(minutes, "minute")
    const hours = Math.round(distance / HOUR)
    if (hours < 24) return plural(hours, "hour")
    const days = Math.round(distance / DAY)
    if (days < 45) return plural(days, "day")
    const months = Math.round(distance / (30 * DAY))
    if (months < 12) return plural(months, "month")
    return plural(Math.round(distance / (365 * DAY)), "year")
  })()
  return difference > 0 ? `in ${amount}` : `${amount} ago`
}

/** Rows under a header, columns padded to their widest cell, two spaces apart. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** At most `max` characters, an ellipsis marking a cut. */
export const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`

/** `*` stands for an unscoped key, which holds every product scope of its team. */
export const scopesText = (scopes: ReadonlyArray<string> | null): string =>
  scopes === null ? "*" : scopes.length === 0 ? "-" : scopes.join(",")

const when = (date: Date | null, nowMillis: number, none: string) =>
  date === null ? none : relativeTime(date, nowMillis)

/** The list table: one key per row. */
export const keyTable = (keys: ReadonlyArray<KeysClient.Key>, nowMillis: number): string =>
  table(
    ["ID", "NAME", "START", "ENV", "SCOPES", "STATUS", "EXPIRES", "LAST USED"],
    keys.map((key) => [
      key.id,
      truncate(key.name, 32),
      key.start,
      key.environment,
      truncate(scopesText(key.scopes), 40),
      key.status,
      when(key.expiresAt, nowMillis, "never"),
      when(key.lastUsedAt, nowMillis, "never")
    ])
  )

const dated = (date: Date | null, nowMillis: number, none: string) =>
  date === null ? none : `${date.toISOString()} (${relativeTime(date, nowMillis)})`

/** One key, field by field. */
export const keyDetails = (key: KeysClient.Key, nowMillis: number): string => {
  const fields: Array<readonly [string, string]> = [
    ["id", key.id],
    ["name", key.name],
    ["team", key.teamId],
    ["start", key.start],
    ["environment", key.environment],
    ["scopes", key.scopes === null ? "* (unscoped: every product scope)" : scopesText(key.scopes)],
    ["resources", key.resources === null ? "any" : key.resources.join(",")],
    ["metadata", key.metadata === null ? "none" : JSON.stringify(key.metadata)],
    ["status", key.status],
    ["created", dated(key.createdAt, nowMillis, "")],
    ["expires", dated(key.expiresAt, nowMillis, "never")],
    ["last used", dated(key.lastUsedAt, nowMillis, "never")]
  ]
  if (key.revokedAt !== null) fields.push(["revoked", dated(key.revokedAt, nowMillis, "")])
  const width = Math.max(...fields.map(([name]) => name.length))
  return fields.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join("\n")
}

/** A one-line summary: `"Production" (key_…), live, scopes send,read`. */
export const keySummary = (key: KeysClient.Key): string =>
  `"${key.name}" (${key.id}) in team ${key.teamId}, ${key.environment}, scopes ${scopesText(key.scopes)}`
