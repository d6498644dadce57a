/**
 * The show-once panel: the new key's plaintext with a copy button and the warning that it will not
 * be shown again. It needs an explicit "Done" (no Escape), and the owner drops the secret when it
 * closes: nothing else in this package keeps a reference to it.
 */
import { useEffect, useId, useRef, useState } from "react"
import { Dialog } from "./Dialog.js"

export interface SecretPanelProps {
  /** The plaintext key, as the create or roll answer carried it. */
  readonly secret: string
  readonly keyName: string
  /** For a roll: when the replaced key stops working, in words ("at once", "in 24 hours"). */
  readonly previousKeyEnds?: string
  /** Drop the secret here (set your state to null); the panel clears its own copy on close. */
  readonly onClose: () => void
}

type CopyState = "idle" | "copied" | "failed"

const copyText = async (text: string, fallbackInput: HTMLInputElement | null): Promise<boolean> => {
  try {
    if (navigator.clipboard?.writeText !== undefined) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    // Clipboard permission refused: fall back to selecting the text for a manual copy.
  }
  if (fallbackInput === null) return false
  fallbackInput.focus()
  fallbackInput.select()
  try {
    return document.execCommand("copy")
  } catch {
    return false
  }
}

export const SecretPanel = ({ secret, keyName, previousKeyEnds, onClose }: SecretPanelProps) => {
  const inputId = useId()
  const warningId = useId()
  const input = useRef<HTMLInputElement>(null)
  const copyButton = useRef<HTMLButtonElement>(null)
  const [copy, setCopy] = useState<CopyState>("idle")

  // On close the input leaves the DOM; clear its value first so no detached node keeps the text.
  useEffect(() => {
    const element = input.current
    return () => {
      if (element !== null) element.value = ""
    }
  }, [])

  return (
    <Dialog
      role="alertdialog"
      title={`Your new key for “${keyName}”`}
      initialFocus={copyButton}
      className="keys-secret-panel"
    >
      <p id={warningId} className="keys-alert keys-alert-warning">
        Copy this key now and store it somewhere safe. It will not be shown again: we keep only a hash of it.
      </p>
      {previousKeyEnds === undefined ? null : (
        <p className="keys-hint">The previous key stops working {previousKeyEnds}.</p>
      )}
      <label htmlFor={inputId} className="keys-label">
        Secret key
      </label>
      <div className="keys-secret-row">
        <input
          ref={input}
          id={inputId}
          className="keys-input keys-secret"
          readOnly
          value={secret}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={warningId}
          onFocus={(event) => event.currentTarget.select()}
        />
        <button
          ref={copyButton}
          type="button"
          className="keys-button keys-button-primary"
          onClick={() => {
            void copyText(secret, input.current).then((ok) => setCopy(ok ? "copied" : "failed"))
          }}
        >
          {copy === "copied" ? "Copied" : "Copy"}
        </button>
      </div>
      <p role="status" className="keys-hint keys-copy-status">
        {copy === "copied"
          ? "Copied to the clipboard."
          : copy === "failed"
            ? "Could not copy: select the key and copy it by hand."
            : ""}
      </p>
      <div className="keys-form-actions">
        <button
          type="button"
          className="keys-button"
          onClick={() => {
            if (input.current !== null) input.current.value = ""
            onClose()
          }}
        >
          I have stored it — close
        </button>
      </div>
    </Dialog>
  )
}
