/**
 * A key's history from the audit log (or the whole team's when no key is given): what changed,
 * when, and by which key. The log never holds a secret, so neither does this view.
 */
import { useAudit, useKeysContext, useNow } from "./KeysProvider.js"
import { RelativeTime } from "./KeysTable.js"
import { formatAbsolute } from "./time.js"
import type { AuditAction, AuditEvent } from "./types.js"

const ACTION_LABELS: Record<AuditAction, string> = {
  "key.created": "Created",
  "key.updated": "Updated",
  "key.revoked": "Revoked",
  "key.rolled": "Rolled"
}

const FIELD_LABELS: Readonly<Record<string, string>> = {
  name: "Name",
  environment: "Environment",
  scopes: "Scopes",
  resources: "Resources",
  expiresAt: "Expires",
  metadata: "Metadata",
  revokedAt: "Revoked at",
  replacedBy: "Replaced by",
  rolledFrom: "Rolled from",
  gracePeriodSeconds: "Grace period",
  previousEndsAt: "Old key ends"
}

const formatGrace = (seconds: number): string => {
  if (seconds === 0) return "none (revoked at once)"
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? "" : "s"}`
  if (seconds % 3_600 === 0) return `${seconds / 3_600} hour${seconds === 3_600 ? "" : "s"}`
  return `${seconds} seconds`
}

const DATE_FIELDS = new Set(["expiresAt", "revokedAt", "previousEndsAt"])
const WHEN_ABSENT: Readonly<Record<string, string>> = {
  scopes: "full access",
  resources: "all",
  expiresAt: "never"
}

/**
 * One change value as text: lists joined, dates in full, `null` as what it means for the field
 * ("full access" for scopes, "never" for expiry); undefined for a field not worth a line.
 */
export const formatChange = (field: string, value: unknown, locale = "en"): string | undefined => {
  if (value === null || value === undefined) return WHEN_ABSENT[field]
  if (field === "gracePeriodSeconds" && typeof value === "number") return formatGrace(value)
  if (DATE_FIELDS.has(field) && typeof value === "string" && !Number.isNaN(Date.parse(value))) {
    return formatAbsolute(value, locale)
  }
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.map(String).join(", ")
  if (typeof value === "object") return JSON.stringify(value)
  return String(value)
}

const EventItem = ({
  event,
  now,
  showKey
}: {
  readonly event: AuditEvent
  readonly now: number
  readonly showKey: boolean
}) => {
  const { locale } = useKeysContext()
  const changes = Object.entries(event.changes).flatMap(([field, value]) => {
    const text = formatChange(field, value, locale)
    return text === undefined ? [] : [[field, text] as const]
  })
  return (
    <li className="keys-history-item" data-action={event.action}>
      <div className="keys-history-head">
        <span className={`keys-badge keys-badge-action-${event.action.slice(4)}`}>
          {ACTION_LABELS[event.action] ?? event.action}
        </span>
        {showKey ? <code className="keys-muted">{event.keyId}</code> : null}
        <RelativeTime value={event.at} now={now} />
        <span className="keys-muted">
          {event.actorKeyId === null ? "by the system" : `by ${event.actorKeyId}`}
        </span>
      </div>
      {changes.length === 0 ? null : (
        <dl className="keys-changes">
          {changes.map(([field, text]) => (
            <div key={field} className="keys-change">
              <dt>{FIELD_LABELS[field] ?? field}</dt>
              <dd>{text}</dd>
            </div>
          ))}
        </dl>
      )}
    </li>
  )
}

export interface KeyHistoryProps {
  /** One key's events; the whole team's when absent. */
  readonly keyId?: string
  readonly pageSize?: number
}

export const KeyHistory = ({ keyId, pageSize = 50 }: KeyHistoryProps) => {
  const now = useNow()
  const history = useAudit({ keyId, limit: pageSize })

  if (history.state === "loading") {
    return (
      <p role="status" className="keys-state keys-loading">
        Loading history…
      </p>
    )
  }
  if (history.state === "error") {
    return (
      <div role="alert" className="keys-state keys-alert keys-alert-error">
        <p>Could not load the history: {history.error}</p>
        <button type="button" className="keys-button" onClick={history.reload}>
          Try again
        </button>
      </div>
    )
  }
  if (history.items.length === 0) {
    return <p className="keys-state keys-empty">No changes recorded yet.</p>
  }
  return (
    <div className="keys-history">
      <ol className="keys-history-list" aria-label={keyId === undefined ? "Team history" : "Key history"}>
        {history.items.map((event) => (
          <EventItem key={event.id} event={event} now={now} showKey={keyId === undefined} />
        ))}
      </ol>
      {history.hasMore ? (
        <button
          type="button"
          className="keys-button"
          onClick={history.loadMore}
          disabled={history.loadingMore}
        >
          {history.loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : null}
    </div>
  )
}
