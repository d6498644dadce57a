/**
 * Revoke confirmation: shows when the key was last used (the question every platform tells its
 * users to ask before deleting a key), warns when that was recent, and focuses "Cancel" first.
 */
import { useRef, useState } from "react"
import { Dialog } from "./Dialog.js"
import { messageOf } from "./KeysAdapter.js"
import { useKeysContext, useNow } from "./KeysProvider.js"
import { RelativeTime } from "./KeysTable.js"
import type { Key } from "./types.js"

const RECENT_USE_MS = 24 * 3_600_000

export interface RevokeDialogProps {
  readonly keyItem: Key
  readonly onRevoked: (key: Key) => void
  readonly onClose: () => void
}

export const RevokeDialog = ({ keyItem, onRevoked, onClose }: RevokeDialogProps) => {
  const { adapter, reportError } = useKeysContext()
  const now = useNow()
  const cancel = useRef<HTMLButtonElement>(null)
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const lastUsed = keyItem.lastUsedAt === null ? null : Date.parse(keyItem.lastUsedAt)
  const usedRecently = lastUsed !== null && now - lastUsed < RECENT_USE_MS

  const revoke = async () => {
    setPending(true)
    setError(null)
    try {
      const revoked = await adapter.revoke(keyItem.id)
      onRevoked(revoked)
    } catch (failure) {
      setPending(false)
      reportError(failure)
      setError(messageOf(failure))
    }
  }

  return (
    <Dialog
      role="alertdialog"
      title={`Revoke “${keyItem.name}”?`}
      description="Every request with this key will be refused with 401 at once. This cannot be undone."
      onClose={pending ? undefined : onClose}
      initialFocus={cancel}
    >
      <dl className="keys-facts">
        <dt>Key</dt>
        <dd>
          <code>{keyItem.start}…</code>
        </dd>
        <dt>Last used</dt>
        <dd data-testid="revoke-last-used">
          <RelativeTime value={keyItem.lastUsedAt} now={now} empty="Never used" />
        </dd>
      </dl>
      {usedRecently ? (
        <p className="keys-alert keys-alert-warning">
          This key was used in the last 24 hours: something may still depend on it. Roll it instead to give
          its users time to switch.
        </p>
      ) : null}
      {error === null ? null : (
        <p role="alert" className="keys-alert keys-alert-error">
          {error}
        </p>
      )}
      <div className="keys-form-actions">
        <button ref={cancel} type="button" className="keys-button" onClick={onClose} disabled={pending}>
          Cancel
        </button>
        <button
          type="button"
          className="keys-button keys-button-danger-solid"
          onClick={() => void revoke()}
          disabled={pending}
        >
          {pending ? "Revoking…" : "Revoke key"}
        </button>
      </div>
    </Dialog>
  )
}
