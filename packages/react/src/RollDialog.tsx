/**
 * Roll: a replacement key with the same settings; the old one keeps working for the chosen grace
 * period (now, 1 hour, 24 hours, 7 days) so deployments can switch without downtime.
 */
import { type FormEvent, useState } from "react"
import { Dialog } from "./Dialog.js"
import { messageOf } from "./KeysAdapter.js"
import { useKeysContext } from "./KeysProvider.js"
import { GRACE_PERIODS } from "./time.js"
import type { CreatedKey, Key } from "./types.js"

export interface RollDialogProps {
  readonly keyItem: Key
  /** The new key with its plaintext, and the grace period chosen (in seconds). */
  readonly onRolled: (created: CreatedKey, gracePeriodSeconds: number) => void
  readonly onClose: () => void
  /** Preselected grace period in seconds; 24 hours unless given. */
  readonly defaultGracePeriodSeconds?: number
}

/** "at once" or "in 24 hours", for the grace period chosen. */
export const describeGrace = (seconds: number): string => {
  if (seconds === 0) return "at once"
  const match = GRACE_PERIODS.find((period) => period.seconds === seconds)
  return `in ${match?.label ?? `${seconds} seconds`}`
}

export const RollDialog = ({
  keyItem,
  onRolled,
  onClose,
  defaultGracePeriodSeconds = 86_400
}: RollDialogProps) => {
  const { adapter, reportError } = useKeysContext()
  const [grace, setGrace] = useState(defaultGracePeriodSeconds)
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<string | null>(null)

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (pending) return
    setPending(true)
    setError(null)
    try {
      const created = await adapter.roll(keyItem.id, { gracePeriodSeconds: grace })
      onRolled(created, grace)
    } catch (failure) {
      setPending(false)
      reportError(failure)
      setError(messageOf(failure))
    }
  }

  return (
    <Dialog
      title={`Roll “${keyItem.name}”`}
      description="A new key with the same name, environment, scopes, resources and expiry replaces this one."
      onClose={pending ? undefined : onClose}
    >
      <form className="keys-form" onSubmit={submit} aria-busy={pending}>
        <fieldset className="keys-field keys-choice">
          <legend className="keys-label">Old key stops working</legend>
          {GRACE_PERIODS.map((period) => (
            <label key={period.seconds} className="keys-radio">
              <input
                type="radio"
                name="grace"
                value={period.seconds}
                checked={grace === period.seconds}
                onChange={() => setGrace(period.seconds)}
              />
              {period.seconds === 0 ? "Now" : `After ${period.label}`}
            </label>
          ))}
        </fieldset>
        <p className="keys-hint">
          {grace === 0
            ? "The old key is revoked at once: anything still using it gets 401 errors."
            : `Both keys work for ${describeGrace(grace).slice(3)}; then only the new one does.`}
        </p>
        {error === null ? null : (
          <p role="alert" className="keys-alert keys-alert-error">
            {error}
          </p>
        )}
        <div className="keys-form-actions">
          <button type="button" className="keys-button" onClick={onClose} disabled={pending}>
            Cancel
          </button>
          <button type="submit" className="keys-button keys-button-primary" disabled={pending}>
            {pending ? "Rolling…" : "Roll key"}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
