/**
 * The dashboard: sign in with a root key (exchanged for a session cookie), then the team's keys
 * and history from @keys/react. A 401 from any call brings the sign-in screen back.
 */
import { fetchAdapter, KeyHistory, KeysManager, KeysProvider, messageOf } from "@keys/react"
import { type FormEvent, useCallback, useEffect, useId, useMemo, useRef, useState } from "react"
import { API_BASE, CSRF_HEADERS, currentSession, type SessionInfo, signIn, signOut } from "./session.js"

type State =
  | { readonly kind: "checking" }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "signed-out"; readonly notice?: string }
  | { readonly kind: "signed-in"; readonly session: SessionInfo }

const SignIn = ({ notice, onSignedIn }: { notice?: string; onSignedIn: (session: SessionInfo) => void }) => {
  const inputId = useId()
  const hintId = useId()
  const input = useRef<HTMLInputElement>(null)
  const [error, setError] = useState<string | null>(null)
  const [pending, setPending] = useState(false)

  useEffect(() => input.current?.focus(), [])

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const field = input.current
    if (field === null || pending) return
    const key = field.value.trim()
    if (key.length === 0) {
      setError("Enter a root key.")
      field.focus()
      return
    }
    setPending(true)
    setError(null)
    try {
      const session = await signIn(key)
      field.value = ""
      onSignedIn(session)
    } catch (failure) {
      setPending(false)
      setError(messageOf(failure))
      field.focus()
    }
  }

  return (
    <main className="dashboard-signin keys-ui">
      <h1 className="dashboard-brand">keys</h1>
      <form className="keys-form dashboard-card" onSubmit={submit} aria-busy={pending} noValidate>
        <h2 className="keys-title">Sign in</h2>
        {notice === undefined ? null : (
          <p role="status" className="keys-alert keys-alert-warning">
            {notice}
          </p>
        )}
        {error === null ? null : (
          <p role="alert" className="keys-alert keys-alert-error">
            {error}
          </p>
        )}
        <div className="keys-field">
          <label htmlFor={inputId} className="keys-label">
            Root key
          </label>
          <input
            ref={input}
            id={inputId}
            name="root-key"
            type="password"
            className="keys-input"
            autoComplete="off"
            spellCheck={false}
            placeholder="sk_live_…"
            aria-describedby={hintId}
            aria-invalid={error !== null}
          />
          <p id={hintId} className="keys-hint">
            The root key <code>pnpm start</code> printed on its first start, or one from{" "}
            <code>pnpm keys bootstrap</code>. It is exchanged for a session cookie and never stored in this
            browser.
          </p>
        </div>
        <div className="keys-form-actions">
          <button type="submit" className="keys-button keys-button-primary" disabled={pending}>
            {pending ? "Signing in…" : "Sign in"}
          </button>
        </div>
      </form>
    </main>
  )
}

type Tab = "keys" | "history"

const SignedIn = ({
  session,
  onSignedOut,
  onUnauthorized
}: {
  session: SessionInfo
  onSignedOut: () => void
  onUnauthorized: () => void
}) => {
  const [tab, setTab] = useState<Tab>("keys")
  const [signingOut, setSigningOut] = useState(false)
  const adapter = useMemo(() => fetchAdapter({ baseUrl: API_BASE, headers: CSRF_HEADERS }), [])

  const leave = async () => {
    setSigningOut(true)
    try {
      await signOut()
    } finally {
      onSignedOut()
    }
  }

  return (
    <KeysProvider adapter={adapter} onUnauthorized={onUnauthorized}>
      <div className="dashboard keys-ui">
        <header className="dashboard-header">
          <span className="dashboard-brand">keys</span>
          <nav aria-label="Dashboard" className="dashboard-nav">
            <button
              type="button"
              className="dashboard-tab"
              aria-current={tab === "keys" ? "page" : undefined}
              onClick={() => setTab("keys")}
            >
              Keys
            </button>
            <button
              type="button"
              className="dashboard-tab"
              aria-current={tab === "history" ? "page" : undefined}
              onClick={() => setTab("history")}
            >
              History
            </button>
          </nav>
          <span className="dashboard-who">
            Team <strong>{session.teamId}</strong> · {session.keyName}
          </span>
          <button type="button" className="keys-button" onClick={() => void leave()} disabled={signingOut}>
            Sign out
          </button>
        </header>
        <main className="dashboard-main">
          {tab === "keys" ? (
            <KeysManager scopeOptions={session.scopeCatalogue ?? []} />
          ) : (
            <section aria-labelledby="team-history-title">
              <h2 id="team-history-title" className="keys-title dashboard-section-title">
                History
              </h2>
              <KeyHistory />
            </section>
          )}
        </main>
      </div>
    </KeysProvider>
  )
}

export const App = () => {
  const [state, setState] = useState<State>({ kind: "checking" })

  const check = useCallback(() => {
    setState({ kind: "checking" })
    currentSession().then(
      (session) => setState(session === undefined ? { kind: "signed-out" } : { kind: "signed-in", session }),
      (error: unknown) => setState({ kind: "error", message: messageOf(error) })
    )
  }, [])

  useEffect(check, [])

  switch (state.kind) {
    case "checking":
      return (
        <p role="status" className="keys-ui dashboard-checking">
          Loading…
        </p>
      )
    case "error":
      return (
        <main className="keys-ui dashboard-signin">
          <div role="alert" className="keys-alert keys-alert-error dashboard-card">
            <p>Could not reach the keys API: {state.message}</p>
            <button type="button" className="keys-button" onClick={check}>
              Try again
            </button>
          </div>
        </main>
      )
    case "signed-out":
      return (
        <SignIn
          {...(state.notice === undefined ? {} : { notice: state.notice })}
          onSignedIn={(session) => setState({ kind: "signed-in", session })}
        />
      )
    case "signed-in":
      return (
        <SignedIn
          session={state.session}
          onSignedOut={() => setState({ kind: "signed-out", notice: "You are signed out." })}
          onUnauthorized={() =>
            setState({ kind: "signed-out", notice: "Your session has ended. Sign in again to continue." })
          }
        />
      )
  }
}
