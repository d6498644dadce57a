/** Command-line mode shared by the harness and its figure processes. */
export const quick = process.argv.includes("--quick")

/** The run id names every database (`keys_bench_<run>_…`) and Redis prefix of one `pnpm bench`. */
export const runId =
  process.env.BENCH_RUN_ID ?? `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`

export const pick = <A>(quickValue: A, fullValue: A): A => (quick ? quickValue : fullValue)

const started = performance.now()
/** A progress line on stderr with the seconds since this process started. */
export const progress = (message: string): void => {
  process.stderr.write(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${message}\n`)
}
