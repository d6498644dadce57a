/**
 * @keys/react: the screens of API key management as React components, talking to a backend
 * through a `KeysAdapter` (the keys API by default). Import `@keys/react/styles.css` once and theme
 * it with the `--keys-*` CSS variables.
 */
export { CreateKeyForm, type CreateKeyFormProps, splitList } from "./CreateKeyForm.js"
export { Dialog, type DialogProps } from "./Dialog.js"
export { formatChange, KeyHistory, type KeyHistoryProps } from "./KeyHistory.js"
export {
  type FetchAdapterOptions,
  fetchAdapter,
  isUnauthorized,
  type KeysAdapter,
  KeysApiError,
  messageOf
} from "./KeysAdapter.js"
export { KeysManager, type KeysManagerProps, paramsOf } from "./KeysManager.js"
export {
  type KeysContextValue,
  KeysProvider,
  type KeysProviderProps,
  type LoadState,
  type PagedResult,
  useAudit,
  useKeyList,
  useKeysContext,
  useNow
} from "./KeysProvider.js"
export {
  ALL_KEYS,
  type EnvironmentFilter,
  KeyFilters,
  type KeyFiltersValue,
  KeysTable,
  type KeysTableProps,
  RelativeTime,
  ScopeList,
  StatusBadge,
  type StatusFilter
} from "./KeysTable.js"
export { RevokeDialog, type RevokeDialogProps } from "./RevokeDialog.js"
export { describeGrace, RollDialog, type RollDialogProps } from "./RollDialog.js"
export { SecretPanel, type SecretPanelProps } from "./SecretPanel.js"
export {
  EXPIRING_SOON_MS,
  EXPIRY_CHOICES,
  formatAbsolute,
  formatRelative,
  GRACE_PERIODS,
  isExpiringSoon
} from "./time.js"
export type {
  AuditAction,
  AuditEvent,
  CreatedKey,
  CreateKeyInput,
  Environment,
  Key,
  KeyStatus,
  ListAuditParams,
  ListKeysParams,
  Page,
  RollOptions
} from "./types.js"
