/**
 * The whole "API keys" screen from the parts: filters, table with loading, empty and error states,
 * and the create → show-once, roll → show-once, revoke and history dialogs. The plaintext of a new
 * key lives only in this component's state while the panel is open and is dropped when it closes.
 */
import { useId, useState } from "react"
import { CreateKeyForm } from "./CreateKeyForm.js"
import { Dialog } from "./Dialog.js"
import { KeyHistory } from "./KeyHistory.js"
import { useKeyList, useNow } from "./KeysProvider.js"
import { ALL_KEYS, KeyFilters, type KeyFiltersValue, KeysTable } from "./KeysTable.js"
import { RevokeDialog } from "./RevokeDialog.js"
import { describeGrace, RollDialog } from "./RollDialog.js"
import { SecretPanel } from "./SecretPanel.js"
import type { CreatedKey, Key, ListKeysParams } from "./types.js"

type Open =
  | { readonly kind: "create" }
  | { readonly kind: "roll"; readonly key: Key }
  | { readonly kind: "revoke"; readonly key: Key }
  | { readonly kind: "history"; readonly key: Key }
  | {
      readonly kind: "secret"
      readonly secret: string
      readonly keyName: string
      readonly previousKeyEnds?: string
    }

export const paramsOf = (filters: KeyFiltersValue, limit: number): ListKeysParams => ({
  status: filters.status === "all" ? undefined : filters.status === "expiring" ? "active" : filters.status,
  expiringWithin: filters.status === "expiring" ? "7d" : undefined,
  environment: filters.environment === "all" ? undefined : filters.environment,
  limit
})

export interface KeysManagerProps {
  /** Scopes offered as checkboxes in the create form. */
  readonly scopeOptions?: ReadonlyArray<string>
  readonly pageSize?: number
  /** Shown above the table; pass `null` to render your own heading. */
  readonly title?: string | null
}

/** Splits the plaintext off a create or roll answer, so only the panel ever holds it. */
const secretOf = (created: CreatedKey): { secret: string; key: Key } => {
  const { key: secret, ...key } = created
  return { secret, key }
}

export const KeysManager = ({ scopeOptions, pageSize = 50, title = "API keys" }: KeysManagerProps) => {
  const titleId = useId()
  const [filters, setFilters] = useState<KeyFiltersValue>(ALL_KEYS)
  const [open, setOpen] = useState<Open | null>(null)
  const [notice, setNotice] = useState("")
  const ticking = useNow()
  const keys = useKeyList(paramsOf(filters, pageSize))
  // A fresh page is read against a fresh clock, not one up to 30 seconds old.
  const now = Math.max(ticking, keys.loadedAt)
  const filtered = filters.status !== "all" || filters.environment !== "all"

  const close = () => setOpen(null)

  const onCreated = (created: CreatedKey) => {
    const { secret, key } = secretOf(created)
    setOpen({ kind: "secret", secret, keyName: key.name })
    setNotice(`Created key “${key.name}”.`)
    keys.reload()
  }

  const onRolled = (created: CreatedKey, gracePeriodSeconds: number) => {
    const { secret, key } = secretOf(created)
    setOpen({ kind: "secret", secret, keyName: key.name, previousKeyEnds: describeGrace(gracePeriodSeconds) })
    setNotice(`Rolled key “${key.name}”.`)
    keys.reload()
  }

  const onRevoked = (key: Key) => {
    setOpen(null)
    setNotice(`Revoked key “${key.name}”.`)
    keys.reload()
  }

  return (
    <section className="keys-ui keys-manager" aria-labelledby={title === null ? undefined : titleId}>
      <div className="keys-toolbar">
        {title === null ? null : (
          <h2 id={titleId} className="keys-title">
            {title}
          </h2>
        )}
        <KeyFilters value={filters} onChange={setFilters} />
        <div className="keys-toolbar-actions">
          <button type="button" className="keys-button" onClick={keys.reload}>
            Refresh
          </button>
          <button
            type="button"
            className="keys-button keys-button-primary"
            onClick={() => setOpen({ kind: "create" })}
          >
            Create key
          </button>
        </div>
      </div>

      <p role="status" className="keys-notice">
        {notice}
      </p>

      {keys.state === "loading" ? (
        <p role="status" className="keys-state keys-loading" aria-busy="true">
          Loading keys…
        </p>
      ) : keys.state === "error" ? (
        <div role="alert" className="keys-state keys-alert keys-alert-error">
          <p>Could not load the keys: {keys.error}</p>
          <button type="button" className="keys-button" onClick={keys.reload}>
            Try again
          </button>
        </div>
      ) : keys.items.length === 0 ? (
        <div className="keys-state keys-empty">
          {filtered ? (
            <>
              <p>No keys match these filters.</p>
              <button type="button" className="keys-button" onClick={() => setFilters(ALL_KEYS)}>
                Show all keys
              </button>
            </>
          ) : (
            <>
              <p>No API keys yet. Create one to let an application call the API.</p>
              <button
                type="button"
                className="keys-button keys-button-primary"
                onClick={() => setOpen({ kind: "create" })}
              >
                Create your first key
              </button>
            </>
          )}
        </div>
      ) : (
        <>
          <KeysTable
            keys={keys.items}
            now={now}
            onHistory={(key) => setOpen({ kind: "history", key })}
            onRoll={(key) => setOpen({ kind: "roll", key })}
            onRevoke={(key) => setOpen({ kind: "revoke", key })}
          />
          {keys.hasMore ? (
            <button type="button" className="keys-button" onClick={keys.loadMore} disabled={keys.loadingMore}>
              {keys.loadingMore ? "Loading…" : "Load more"}
            </button>
          ) : null}
        </>
      )}

      {open?.kind === "create" ? (
        <Dialog title="Create an API key" onClose={close}>
          <CreateKeyForm
            {...(scopeOptions === undefined ? {} : { scopeOptions })}
            onCreated={onCreated}
            onCancel={close}
          />
        </Dialog>
      ) : null}
      {open?.kind === "secret" ? (
        <SecretPanel
          secret={open.secret}
          keyName={open.keyName}
          {...(open.previousKeyEnds === undefined ? {} : { previousKeyEnds: open.previousKeyEnds })}
          onClose={close}
        />
      ) : null}
      {open?.kind === "roll" ? <RollDialog keyItem={open.key} onRolled={onRolled} onClose={close} /> : null}
      {open?.kind === "revoke" ? (
        <RevokeDialog keyItem={open.key} onRevoked={onRevoked} onClose={close} />
      ) : null}
      {open?.kind === "history" ? (
        <Dialog title={`History of “${open.key.name}”`} onClose={close} className="keys-history-dialog">
          <KeyHistory keyId={open.key.id} />
        </Dialog>
      ) : null}
    </section>
  )
}
