/**
 * The context every component reads (adapter, clock, locale, what to do on a 401) and the hooks
 * that load pages of keys and audit events with loading, error and "load more" states.
 */
import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState
} from "react"
import { isUnauthorized, type KeysAdapter, messageOf } from "./KeysAdapter.js"
import type { AuditEvent, Key, ListAuditParams, ListKeysParams, Page } from "./types.js"

export interface KeysContextValue {
  readonly adapter: KeysAdapter
  readonly locale: string
  /** The current time in milliseconds; tests pass a fixed clock. */
  readonly now: () => number
  /** Calls the adapter's failure through here: a 401 signs the user out. */
  readonly reportError: (error: unknown) => void
}

const KeysContext = createContext<KeysContextValue | null>(null)

export interface KeysProviderProps {
  /** Keep it stable (create it once, or in `useMemo`): a new adapter reloads every list. */
  readonly adapter: KeysAdapter
  /** Called when a call answers 401 (the session or key ended): send the user to sign-in. */
  readonly onUnauthorized?: (error: unknown) => void
  readonly locale?: string
  readonly now?: () => number
  readonly children?: ReactNode
}

export const KeysProvider = ({ adapter, onUnauthorized, locale, now, children }: KeysProviderProps) => {
  // Callbacks are read through refs, so passing inline functions does not reload every list.
  const unauthorized = useRef(onUnauthorized)
  unauthorized.current = onUnauthorized
  const clock = useRef(now)
  clock.current = now
  const value = useMemo<KeysContextValue>(
    () => ({
      adapter,
      locale: locale ?? "en",
      now: () => (clock.current === undefined ? Date.now() : clock.current()),
      reportError: (error) => {
        if (isUnauthorized(error)) unauthorized.current?.(error)
      }
    }),
    [adapter, locale]
  )
  return <KeysContext.Provider value={value}>{children}</KeysContext.Provider>
}

export const useKeysContext = (): KeysContextValue => {
  const value = useContext(KeysContext)
  if (value === null) throw new Error("@keys/react: wrap the components in <KeysProvider adapter={…}>")
  return value
}

/** The current time, refreshed every `intervalMs` so relative times stay true on an open page. */
export const useNow = (intervalMs = 30_000): number => {
  const { now } = useKeysContext()
  const [current, setCurrent] = useState(now)
  useEffect(() => {
    setCurrent(now())
    const timer = setInterval(() => setCurrent(now()), intervalMs)
    return () => clearInterval(timer)
  }, [now, intervalMs])
  return current
}

export type LoadState = "loading" | "ready" | "error"

export interface PagedResult<A> {
  readonly items: ReadonlyArray<A>
  readonly state: LoadState
  /** The failure's message, for the error state. */
  readonly error: string | null
  readonly hasMore: boolean
  readonly loadingMore: boolean
  /** When the first page last arrived (the context's clock): relative times are fresh from here. */
  readonly loadedAt: number
  readonly loadMore: () => void
  /** Loads the first page again (after a change, or from a "Try again" button). */
  readonly reload: () => void
}

const usePaged = <A,>(
  fetchPage: (cursor: string | undefined) => Promise<Page<A>>,
  dependencyKey: string,
  source: unknown
): PagedResult<A> => {
  const { reportError, now } = useKeysContext()
  const [loadedAt, setLoadedAt] = useState(now)
  const [items, setItems] = useState<ReadonlyArray<A>>([])
  const [state, setState] = useState<LoadState>("loading")
  const [error, setError] = useState<string | null>(null)
  const [cursor, setCursor] = useState<string | null>(null)
  const [loadingMore, setLoadingMore] = useState(false)
  const [generation, setGeneration] = useState(0)
  // Only the newest request may write: a slow answer for old filters must not replace a new one.
  const latest = useRef(0)
  const shown = useRef<string | null>(null)
  const fetchRef = useRef(fetchPage)
  fetchRef.current = fetchPage

  // biome-ignore lint/correctness/useExhaustiveDependencies: reloads when the filters, the source or the generation change
  useEffect(() => {
    const request = ++latest.current
    // New filters show the loading state; a reload keeps the current rows on screen meanwhile.
    if (shown.current !== dependencyKey) {
      setState("loading")
      setItems([])
      setCursor(null)
    }
    fetchRef.current(undefined).then(
      (page) => {
        if (request !== latest.current) return
        shown.current = dependencyKey
        setLoadedAt(now())
        setItems(page.data)
        setCursor(page.nextCursor)
        setError(null)
        setState("ready")
      },
      (failure: unknown) => {
        if (request !== latest.current) return
        shown.current = null
        reportError(failure)
        setError(messageOf(failure))
        setState("error")
      }
    )
  }, [dependencyKey, source, generation, reportError, now])

  const loadMore = useCallback(() => {
    if (cursor === null || loadingMore) return
    const request = latest.current
    setLoadingMore(true)
    fetchRef.current(cursor).then(
      (page) => {
        setLoadingMore(false)
        if (request !== latest.current) return
        setItems((previous) => [...previous, ...page.data])
        setCursor(page.nextCursor)
      },
      (failure: unknown) => {
        setLoadingMore(false)
        if (request !== latest.current) return
        reportError(failure)
        setError(messageOf(failure))
        setState("error")
      }
    )
  }, [cursor, loadingMore, reportError])

  const reload = useCallback(() => setGeneration((value) => value + 1), [])

  return { items, state, error, hasMore: cursor !== null, loadingMore, loadedAt, loadMore, reload }
}

/** The team's keys, newest first, with the given filters. */
export const useKeyList = (params: ListKeysParams = {}): PagedResult<Key> => {
  const { adapter } = useKeysContext()
  const { status, environment, expiringWithin, limit } = params
  return usePaged(
    (cursor) => adapter.list({ status, environment, expiringWithin, limit, cursor }),
    JSON.stringify([status, environment, expiringWithin, limit]),
    adapter
  )
}

/** Audit events, newest first: one key's when `keyId` is given, else the whole team's. */
export const useAudit = (params: ListAuditParams = {}): PagedResult<AuditEvent> => {
  const { adapter } = useKeysContext()
  const { keyId, limit } = params
  return usePaged(
    (cursor) => adapter.audit({ keyId, limit, cursor }),
    JSON.stringify([keyId, limit]),
    adapter
  )
}
