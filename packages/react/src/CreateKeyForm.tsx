/**
 * The create form: name, environment, full access or chosen scopes, resources, expiry. It checks
 * what it can before sending, then shows the API's own `message` for anything the server refuses.
 */
import { type FormEvent, useId, useRef, useState } from "react"
import { messageOf } from "./KeysAdapter.js"
import { useKeysContext } from "./KeysProvider.js"
import { EXPIRY_CHOICES } from "./time.js"
import type { CreatedKey, CreateKeyInput, Environment } from "./types.js"

const DAY_MS = 86_400_000

/** Splits "a, b c" into ["a", "b", "c"], without empties or repeats. */
export const splitList = (text: string): Array<string> => [
  ...new Set(
    text
      .split(/[\s,]+/)
      .map((item) => item.trim())
      .filter((item) => item.length > 0)
  )
]

export interface CreateKeyFormProps {
  /** Scopes offered as checkboxes when "Chosen scopes" is picked; any other can be typed. */
  readonly scopeOptions?: ReadonlyArray<string>
  readonly defaultEnvironment?: Environment
  /** Called with the created key and its plaintext; show it with `SecretPanel`. */
  readonly onCreated: (created: CreatedKey) => void
  readonly onCancel?: () => void
}

type Access = "full" | "scoped"

interface FieldErrors {
  name?: string
  scopes?: string
  expiry?: string
}

export const CreateKeyForm = ({
  scopeOptions = [],
  defaultEnvironment = "live",
  onCreated,
  onCancel
}: CreateKeyFormProps) => {
  const { adapter, now, reportError } = useKeysContext()
  const ids = { name: useId(), resources: useId(), expiry: useId(), date: useId(), scopes: useId() }
  const [name, setName] = useState("")
  const [environment, setEnvironment] = useState<Environment>(defaultEnvironment)
  const [access, setAccess] = useState<Access>("full")
  const [chosen, setChosen] = useState<ReadonlyArray<string>>([])
  const [otherScopes, setOtherScopes] = useState("")
  const [resources, setResources] = useState("")
  const [expiry, setExpiry] = useState("never")
  const [customDate, setCustomDate] = useState("")
  const [errors, setErrors] = useState<FieldErrors>({})
  const [serverError, setServerError] = useState<string | null>(null)
  const [pending, setPending] = useState(false)
  const nameInput = useRef<HTMLInputElement>(null)

  const expiresAt = (): string | null | "invalid" => {
    if (expiry === "never") return null
    if (expiry === "custom") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(customDate)) return "invalid"
      // The end of the chosen day, in the browser's time zone.
      const end = new Date(`${customDate}T23:59:59`)
      if (Number.isNaN(end.getTime()) || end.getTime() <= now()) return "invalid"
      return end.toISOString()
    }
    return new Date(now() + Number(expiry) * DAY_MS).toISOString()
  }

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    if (pending) return
    const found: FieldErrors = {}
    const trimmed = name.trim()
    if (trimmed.length === 0) found.name = "Enter a name, such as Production or CI."
    const scopes = [...new Set([...chosen, ...splitList(otherScopes)])]
    if (access === "scoped" && scopes.length === 0)
      found.scopes = "Choose at least one scope, or pick Full access."
    const expires = expiresAt()
    if (expires === "invalid") found.expiry = "Pick a date after today."
    setErrors(found)
    setServerError(null)
    if (Object.keys(found).length > 0) {
      if (found.name !== undefined) nameInput.current?.focus()
      return
    }
    const resourceList = splitList(resources)
    const input: CreateKeyInput = {
      name: trimmed,
      environment,
      scopes: access === "full" ? null : scopes,
      resources: resourceList.length === 0 ? null : resourceList,
      expiresAt: expires === "invalid" ? null : expires
    }
    setPending(true)
    try {
      const created = await adapter.create(input)
      setPending(false)
      onCreated(created)
    } catch (failure) {
      setPending(false)
      reportError(failure)
      setServerError(messageOf(failure))
    }
  }

  const toggleScope = (scope: string, on: boolean) =>
    setChosen((previous) => (on ? [...previous, scope] : previous.filter((item) => item !== scope)))

  return (
    <form className="keys-form" onSubmit={submit} noValidate aria-busy={pending}>
      {serverError === null ? null : (
        <p role="alert" className="keys-alert keys-alert-error">
          {serverError}
        </p>
      )}
      <div className="keys-field">
        <label htmlFor={ids.name} className="keys-label">
          Name
        </label>
        <input
          ref={nameInput}
          id={ids.name}
          className="keys-input"
          value={name}
          maxLength={200}
          autoComplete="off"
          required
          aria-invalid={errors.name !== undefined}
          aria-describedby={errors.name === undefined ? `${ids.name}-hint` : `${ids.name}-error`}
          onChange={(event) => setName(event.target.value)}
        />
        {errors.name === undefined ? (
          <p id={`${ids.name}-hint`} className="keys-hint">
            A label to recognise the key by, such as Production, Staging or CI.
          </p>
        ) : (
          <p id={`${ids.name}-error`} className="keys-field-error">
            {errors.name}
          </p>
        )}
      </div>

      <fieldset className="keys-field keys-choice">
        <legend className="keys-label">Environment</legend>
        {(["live", "test"] as const).map((value) => (
          <label key={value} className="keys-radio">
            <input
              type="radio"
              name="environment"
              value={value}
              checked={environment === value}
              onChange={() => setEnvironment(value)}
            />
            {value === "live" ? "Live" : "Test"}
          </label>
        ))}
      </fieldset>

      <fieldset
        className="keys-field keys-choice"
        aria-describedby={errors.scopes === undefined ? undefined : `${ids.scopes}-error`}
      >
        <legend className="keys-label">Permission</legend>
        <label className="keys-radio">
          <input type="radio" name="access" checked={access === "full"} onChange={() => setAccess("full")} />
          Full access
        </label>
        <label className="keys-radio">
          <input
            type="radio"
            name="access"
            checked={access === "scoped"}
            onChange={() => setAccess("scoped")}
          />
          Chosen scopes
        </label>
        {access === "scoped" ? (
          <div className="keys-scopes">
            {scopeOptions.map((scope) => (
              <label key={scope} className="keys-checkbox">
                <input
                  type="checkbox"
                  checked={chosen.includes(scope)}
                  onChange={(event) => toggleScope(scope, event.target.checked)}
                />
                {scope}
              </label>
            ))}
            <label htmlFor={ids.scopes} className="keys-label">
              {scopeOptions.length === 0 ? "Scopes" : "Other scopes"}
            </label>
            <input
              id={ids.scopes}
              className="keys-input"
              value={otherScopes}
              placeholder="send, read"
              autoComplete="off"
              aria-invalid={errors.scopes !== undefined}
              aria-describedby={`${ids.scopes}-hint`}
              onChange={(event) => setOtherScopes(event.target.value)}
            />
            <p id={`${ids.scopes}-hint`} className="keys-hint">
              Separate scopes with commas or spaces.
            </p>
          </div>
        ) : null}
        {errors.scopes === undefined ? null : (
          <p id={`${ids.scopes}-error`} className="keys-field-error">
            {errors.scopes}
          </p>
        )}
      </fieldset>

      <div className="keys-field">
        <label htmlFor={ids.resources} className="keys-label">
          Resources <span className="keys-muted">(optional)</span>
        </label>
        <input
          id={ids.resources}
          className="keys-input"
          value={resources}
          placeholder="example.com"
          autoComplete="off"
          aria-describedby={`${ids.resources}-hint`}
          onChange={(event) => setResources(event.target.value)}
        />
        <p id={`${ids.resources}-hint`} className="keys-hint">
          Restrict the key to these resources (for example a sending domain); empty allows all.
        </p>
      </div>

      <div className="keys-field">
        <label htmlFor={ids.expiry} className="keys-label">
          Expires
        </label>
        <select
          id={ids.expiry}
          className="keys-select"
          value={expiry}
          onChange={(event) => setExpiry(event.target.value)}
        >
          {EXPIRY_CHOICES.map((choice) => (
            <option key={choice.label} value={choice.days === null ? "never" : String(choice.days)}>
              {choice.label}
            </option>
          ))}
          <option value="custom">On a date…</option>
        </select>
        {expiry === "custom" ? (
          <>
            <label htmlFor={ids.date} className="keys-label">
              Expiry date
            </label>
            <input
              id={ids.date}
              type="date"
              className="keys-input"
              value={customDate}
              aria-invalid={errors.expiry !== undefined}
              aria-describedby={errors.expiry === undefined ? undefined : `${ids.date}-error`}
              onChange={(event) => setCustomDate(event.target.value)}
            />
          </>
        ) : null}
        {errors.expiry === undefined ? (
          <p className="keys-hint">After this date the key stops working; it stays listed as expired.</p>
        ) : (
          <p id={`${ids.date}-error`} className="keys-field-error">
            {errors.expiry}
          </p>
        )}
      </div>

      <div className="keys-form-actions">
        {onCancel === undefined ? null : (
          <button type="button" className="keys-button" onClick={onCancel} disabled={pending}>
            Cancel
          </button>
        )}
        <button type="submit" className="keys-button keys-button-primary" disabled={pending}>
          {pending ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  )
}
