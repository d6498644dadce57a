/** Order statistics for benchmark samples. */

export const median = (values: ReadonlyArray<number>): number => percentile(values, 0.5)

/** Nearest-rank percentile (p in [0, 1]); NaN for no samples. */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!
}

export const sleep = (millis: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, millis))

/** Operations per second of a synchronous loop of `iterations`. */
export const opsPerSecond = (iterations: number, run: () => void): number => {
  const started = process.hrtime.bigint()
  run()
  return iterations / (Number(process.hrtime.bigint() - started) / 1e9)
}

/** `count` indices in [0, size), uniformly at random (a fixed sequence shared by ours and a baseline). */
export const randomIndices = (count: number, size: number): Uint32Array => {
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) out[i] = Math.floor(Math.random() * size)
  return out
}
