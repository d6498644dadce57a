// Preloaded (`--import`) into the API process by the memory figure, with `--expose-gc`: on SIGUSR2 it
// runs full garbage collections and writes process.memoryUsage() as JSON to BENCH_MEMORY_FILE, so
// the figure reads memory without garbage and without any hook in the API itself.
import { writeFileSync } from "node:fs"

process.on("SIGUSR2", () => {
  globalThis.gc?.()
  globalThis.gc?.()
  writeFileSync(process.env.BENCH_MEMORY_FILE, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }))
})
