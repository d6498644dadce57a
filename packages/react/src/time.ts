/** Relative times ("3 minutes ago", "in 6 days") and the expiry marks the table shows. */

const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

export const EXPIRING_SOON_MS = 7 * DAY

const formatters = new Map<string, Intl.RelativeTimeFormat>()
const formatterFor = (locale: string): Intl.RelativeTimeFormat => {
  let formatter = formatters.get(locale)
  if (formatter === undefined) {
    formatter = new Intl.RelativeTimeFormat(locale, { numeric: "always", style: "long" })
    formatters.set(locale, formatter)
  }
  return formatter
}

const toMillis = (value: string | Date | number): number =>
  typeof value === "number" ? value : typeof value === "string" ? Date.parse(value) : value.getTime()

/**
 * `then` relative to `now`: "just now" within 45 seconds, then minutes, hours, days, months and
 * years, rounded to the nearest unit ("3 minutes ago", "in 6 days").
 */
export const formatRelative = (then: string | Date | number, now: number, locale = "en"): string => {
  const millis = toMillis(then)
  if (Number.isNaN(millis)) return "unknown"
  const diff = millis - now
  const abs = Math.abs(diff)
  if (abs < 45 * SECOND) return "just now"
  const format = formatterFor(locale)
  const sign = diff < 0 ? -1 : 1
  if (abs < 45 * MINUTE) return format.format(sign * Math.max(1, Math.round(abs / MINUTE)), "minute")
  if (abs < 22 * HOUR) return format.format(sign * Math.round(abs / HOUR), "hour")
  if (abs < 26 * DAY) return format.format(sign * Math.round(abs / DAY), "day")
  if (abs < 320 * DAY) return format.format(sign * Math.max(1, Math.round(abs / (30 * DAY))), "month")
  return format.format(sign * Math.max(1, Math.round(abs / (365 * DAY))), "year")
}

/** The full date and time, for a tooltip beside a relative time. */
export const formatAbsolute = (value: string | Date | number, locale = "en"): string => {
  const millis = toMillis(value)
  if (Number.isNaN(millis)) return "unknown"
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(millis)
}

/** An active key whose expiry falls within `windowMs` of `now`. */
export const isExpiringSoon = (
  key: { readonly status: string; readonly expiresAt: string | null },
  now: number,
  windowMs = EXPIRING_SOON_MS
): boolean => {
  if (key.status !== "active" || key.expiresAt === null) return false
  const expires = Date.parse(key.expiresAt)
  return expires > now && expires - now <= windowMs
}

/** Grace periods the roll dialog offers, in seconds. */
export const GRACE_PERIODS: ReadonlyArray<{ readonly label: string; readonly seconds: number }> = [
  { label: "Now", seconds: 0 },
  { label: "1 hour", seconds: 3_600 },
  { label: "24 hours", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 }
]

/** Expiry choices of the create form, in days; `null` means never. */
export const EXPIRY_CHOICES: ReadonlyArray<{ readonly label: string; readonly days: number | null }> = [
  { label: "Never", days: null },
  { label: "1 day", days: 1 },
  { label: "7 days", days: 7 },
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
  { label: "1 year", days: 365 }
]
