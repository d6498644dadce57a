/**
 * How the CLI ends: the exit codes of contract section 7, and the failures of its own that choose
 * one (a usage problem found after parsing, or an answer already printed that must still fail).
 */
import { Data } from "effect"

/** Exit codes of contract section 7. */
export const ExitCode = {
  /** Success; for `verify`, the key is valid. */
  ok: 0,
  /** The key is not valid, or the API refused the operation (not found, invalid input, rate limited). */
  refused: 1,
  /** A bad command line. */
  usage: 2,
  /** 401 on the CLI's own key (or no key at all). */
  authentication: 3,
  /** 403 on the CLI's own key. */
  permission: 4,
  /** No answer from the API, or a server error. */
  unavailable: 5
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A command line that parsed but does not make sense (e.g. `update` with nothing to change). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** The outcome is already printed; the process must still end with `code`. */
export class ExitWith extends Data.TaggedError("ExitWith")<{ readonly code: ExitCode }> {}
