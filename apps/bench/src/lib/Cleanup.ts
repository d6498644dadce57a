/**
 * What a benchmark process must undo however it ends: child processes, databases, Redis keys.
 * Finalizers run in reverse order on normal completion, on an error and on SIGTERM/SIGINT.
 */
type Finalizer = () => Promise<unknown> | unknown

const finalizers: Array<Finalizer> = []

export const onCleanup = (finalizer: Finalizer): (() => Promise<void>) => {
  finalizers.push(finalizer)
  return async () => {
    const index = finalizers.indexOf(finalizer)
    if (index === -1) return
    finalizers.splice(index, 1)
    await finalizer()
  }
}

export const runCleanup = async (): Promise<void> => {
  while (finalizers.length > 0) {
    const finalizer = finalizers.pop()!
    try {
      await finalizer()
    } catch {
      // Best effort: one failed finalizer must not keep the others from running.
    }
  }
}

let installed = false
export const installSignalHandlers = (): void => {
  if (installed) return
  installed = true
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void runCleanup().finally(() => process.exit(130))
    })
  }
}
