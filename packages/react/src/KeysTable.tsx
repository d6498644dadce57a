/**
 * The keys table (name, start, environment, scopes, status, created, expires, last used) and its
 * filters by status and environment. Times are relative ("3 minutes ago", "in 6 days") with the
 * full date in a tooltip; a key that expires within a week carries an "Expires soon" mark.
 */
import { useId } from "react"
import { useKeysContext } from "./KeysProvider.js"
import { formatAbsolute, formatRelative, isExpiringSoon } from "./time.js"
import type { Environment, Key, KeyStatus } from "./types.js"

export const RelativeTime = ({
  value,
  now,
  empty = "Never"
}: {
  readonly value: string | null
  readonly now: number
  readonly empty?: string
}) => {
  const { locale } = useKeysContext()
  if (value === null) return <span className="keys-muted">{empty}</span>
  return (
    <time dateTime={value} title={formatAbsolute(value, locale)}>
      {formatRelative(value, now, locale)}
    </time>
  )
}

const STATUS_LABELS: Record<KeyStatus, string> = { active: "Active", expired: "Expired", revoked: "Revoked" }

export const StatusBadge = ({ keyItem, now }: { readonly keyItem: Key; readonly now: number }) => (
  <span className="keys-status">
    <span className={`keys-badge keys-badge-${keyItem.status}`}>{STATUS_LABELS[keyItem.status]}</span>
    {isExpiringSoon(keyItem, now) ? (
      <span className="keys-badge keys-badge-expiring" title="Expires within 7 days">
        Expires soon
      </span>
    ) : null}
  </span>
)

export const ScopeList = ({ scopes }: { readonly scopes: ReadonlyArray<string> | null }) => {
  if (scopes === null) return <span className="keys-badge keys-badge-full">Full access</span>
  if (scopes.length === 0) return <span className="keys-muted">No scopes</span>
  return (
    <ul className="keys-chips" aria-label="Scopes">
      {scopes.map((scope) => (
        <li key={scope} className="keys-chip">
          {scope}
        </li>
      ))}
    </ul>
  )
}

/** `"expiring"` lists active keys that expire within a week. */
export type StatusFilter = "all" | KeyStatus | "expiring"
export type EnvironmentFilter = "all" | Environment

export interface KeyFiltersValue {
  readonly status: StatusFilter
  readonly environment: EnvironmentFilter
}

export const ALL_KEYS: KeyFiltersValue = { status: "all", environment: "all" }

export const KeyFilters = ({
  value,
  onChange
}: {
  readonly value: KeyFiltersValue
  readonly onChange: (value: KeyFiltersValue) => void
}) => {
  const statusId = useId()
  const environmentId = useId()
  return (
    <fieldset className="keys-filters">
      <legend className="keys-visually-hidden">Filter keys</legend>
      <label htmlFor={statusId} className="keys-label">
        Status
      </label>
      <select
        id={statusId}
        className="keys-select"
        value={value.status}
        onChange={(event) => onChange({ ...value, status: event.target.value as StatusFilter })}
      >
        <option value="all">All statuses</option>
        <option value="active">Active</option>
        <option value="expiring">Expiring soon</option>
        <option value="expired">Expired</option>
        <option value="revoked">Revoked</option>
      </select>
      <label htmlFor={environmentId} className="keys-label">
        Environment
      </label>
      <select
        id={environmentId}
        className="keys-select"
        value={value.environment}
        onChange={(event) => onChange({ ...value, environment: event.target.value as EnvironmentFilter })}
      >
        <option value="all">All environments</option>
        <option value="live">Live</option>
        <option value="test">Test</option>
      </select>
    </fieldset>
  )
}

export interface KeysTableProps {
  readonly keys: ReadonlyArray<Key>
  readonly now: number
  readonly caption?: string
  readonly onRoll?: (key: Key) => void
  readonly onRevoke?: (key: Key) => void
  readonly onHistory?: (key: Key) => void
}

export const KeysTable = ({
  keys,
  now,
  caption = "API keys",
  onRoll,
  onRevoke,
  onHistory
}: KeysTableProps) => {
  const hasActions = onRoll !== undefined || onRevoke !== undefined || onHistory !== undefined
  return (
    <div className="keys-table-wrap">
      <table className="keys-table">
        <caption className="keys-visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Environment</th>
            <th scope="col">Scopes</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            {hasActions ? (
              <th scope="col">
                <span className="keys-visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key.id} data-key-id={key.id} data-status={key.status}>
              <th scope="row" className="keys-name">
                {key.name}
              </th>
              <td>
                <code className="keys-start">{key.start}…</code>
              </td>
              <td>
                <span className={`keys-badge keys-badge-env-${key.environment}`}>
                  {key.environment === "live" ? "Live" : "Test"}
                </span>
              </td>
              <td>
                <ScopeList scopes={key.scopes} />
              </td>
              <td>
                <StatusBadge keyItem={key} now={now} />
              </td>
              <td>
                <RelativeTime value={key.createdAt} now={now} />
              </td>
              <td>
                {key.revokedAt !== null ? (
                  <span className="keys-muted">Revoked</span>
                ) : (
                  <RelativeTime value={key.expiresAt} now={now} />
                )}
              </td>
              <td data-column="last-used">
                <RelativeTime value={key.lastUsedAt} now={now} />
              </td>
              {hasActions ? (
                <td className="keys-actions-cell">
                  <div className="keys-actions">
                    {onHistory === undefined ? null : (
                      <button
                        type="button"
                        className="keys-button keys-button-small"
                        aria-label={`History of ${key.name}`}
                        onClick={() => onHistory(key)}
                      >
                        History
                      </button>
                    )}
                    {onRoll === undefined || key.status !== "active" ? null : (
                      <button
                        type="button"
                        className="keys-button keys-button-small"
                        aria-label={`Roll ${key.name}`}
                        onClick={() => onRoll(key)}
                      >
                        Roll
                      </button>
                    )}
                    {onRevoke === undefined || key.status === "revoked" ? null : (
                      <button
                        type="button"
                        className="keys-button keys-button-small keys-button-danger"
                        aria-label={`Revoke ${key.name}`}
                        onClick={() => onRevoke(key)}
                      >
                        Revoke
                      </button>
                    )}
                  </div>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
