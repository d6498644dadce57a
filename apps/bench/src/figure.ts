/**
 * Runs one group of figures in its own process (so one figure's memory, JIT state or crash never
 * touches another) and writes its results as JSON to the file named by `--out`.
 * Usage: tsx src/figure.ts <group> --out <file> [--quick]
 */
import { writeFileSync } from "node:fs"
import { installSignalHandlers, runCleanup } from "./lib/Cleanup.js"
import { GROUPS } from "./Groups.js"
import type { Figure } from "./Report.js"

const main = async () => {
  const group = process.argv[2] ?? ""
  const outIndex = process.argv.indexOf("--out")
  const out = outIndex === -1 ? undefined : process.argv[outIndex + 1]
  const entry = GROUPS[group]
  if (entry === undefined || out === undefined) {
    process.stderr.write(`usage: figure.ts <${Object.keys(GROUPS).join("|")}> --out <file> [--quick]\n`)
    process.exit(2)
  }
  installSignalHandlers()
  const started = performance.now()
  let figures: ReadonlyArray<Figure>
  let failed = false
  try {
    const module = (await import(entry.module)) as { run: () => Promise<ReadonlyArray<Figure>> }
    figures = await module.run()
  } catch (error) {
    failed = true
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    process.stderr.write(`figure group ${group} failed: ${message}\n`)
    figures = entry.figures.map((id) => ({
      id,
      title: `figure ${id}`,
      rows: [],
      parameters: {},
      notes: [],
      limits: "",
      error: message
    }))
  }
  await runCleanup()
  const seconds = (performance.now() - started) / 1000
  writeFileSync(out, JSON.stringify(figures.map((figure) => ({ ...figure, seconds }))))
  // Open handles (pools, agents) must not keep a finished figure alive.
  process.exit(failed ? 1 : 0)
}

void main()
