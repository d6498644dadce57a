/**
 * A modal dialog: labelled by its title, focus moved in on open, kept inside with Tab and
 * Shift+Tab, Escape to close (unless the dialog needs an explicit answer), focus given back to the
 * element that opened it on close.
 */
import { type ReactNode, type RefObject, useEffect, useId, useRef } from "react"
import { createPortal } from "react-dom"

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

const focusables = (root: HTMLElement): Array<HTMLElement> =>
  Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((element) => !element.hidden)

export interface DialogProps {
  readonly title: ReactNode
  readonly description?: ReactNode | undefined
  /** Escape, and the close button when shown. Omit to require an answer from the buttons inside. */
  readonly onClose?: (() => void) | undefined
  /** `alertdialog` for confirmations and warnings that interrupt the user. */
  readonly role?: "dialog" | "alertdialog"
  /** Receives focus on open; the first focusable element otherwise. */
  readonly initialFocus?: RefObject<HTMLElement | null> | undefined
  readonly className?: string | undefined
  readonly children?: ReactNode
}

export const Dialog = ({
  title,
  description,
  onClose,
  role = "dialog",
  initialFocus,
  className,
  children
}: DialogProps) => {
  const titleId = useId()
  const descriptionId = useId()
  const panel = useRef<HTMLDivElement>(null)
  const onCloseRef = useRef(onClose)
  onCloseRef.current = onClose

  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves in once, on open
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    const root = panel.current
    if (root !== null) {
      const inside = focusables(root)
      const target =
        initialFocus?.current ?? inside.find((element) => !element.hasAttribute("data-close")) ?? root
      target.focus()
    }
    return () => {
      if (opener?.isConnected) opener.focus()
    }
  }, [])

  // Keys are handled on the document, so Tab still lands inside after a click on the backdrop.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      const root = panel.current
      if (root === null) return
      // With dialogs stacked, only the topmost one answers.
      const dialogs = document.querySelectorAll(".keys-dialog")
      if (dialogs[dialogs.length - 1] !== root) return
      if (event.key === "Escape") {
        if (onCloseRef.current === undefined) return
        event.preventDefault()
        event.stopPropagation()
        onCloseRef.current()
        return
      }
      if (event.key !== "Tab") return
      const items = focusables(root)
      const first = items[0]
      const last = items[items.length - 1]
      if (first === undefined || last === undefined) {
        event.preventDefault()
        root.focus()
        return
      }
      const active = document.activeElement
      const outside = !(active instanceof Node) || !root.contains(active)
      if (event.shiftKey && (outside || active === first || active === root)) {
        event.preventDefault()
        last.focus()
      } else if (!event.shiftKey && (outside || active === last)) {
        event.preventDefault()
        first.focus()
      }
    }
    document.addEventListener("keydown", onKeyDown, true)
    return () => document.removeEventListener("keydown", onKeyDown, true)
  }, [])

  return createPortal(
    <div className="keys-ui keys-dialog-backdrop">
      {/* biome-ignore lint/a11y/useAriaPropsSupportedByRole: role is "dialog" or "alertdialog", both modal roles */}
      <div
        ref={panel}
        role={role}
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={description === undefined ? undefined : descriptionId}
        tabIndex={-1}
        className={className === undefined ? "keys-dialog" : `keys-dialog ${className}`}
      >
        <div className="keys-dialog-header">
          <h2 id={titleId} className="keys-dialog-title">
            {title}
          </h2>
          {onClose === undefined ? null : (
            <button
              type="button"
              className="keys-button keys-button-icon"
              aria-label="Close"
              data-close=""
              onClick={onClose}
            >
              <span aria-hidden="true">×</span>
            </button>
          )}
        </div>
        {description === undefined ? null : (
          <p id={descriptionId} className="keys-dialog-description">
            {description}
          </p>
        )}
        {children}
      </div>
    </div>,
    document.body
  )
}
