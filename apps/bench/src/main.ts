/**
 * `pnpm bench`: every performance figure of keys in one run on this machine's PostgreSQL and Redis,
 * each beside a baseline measured in the same run. Prints a table and writes bench/results.json
 * and bench/results.md at the repository root.
 *
 *   pnpm bench             full run (medians of several rounds, 1 000 000 keys; ~15–25 min)
 *   pnpm bench --quick     under 2 minutes: fewer rounds, shorter loads, smaller key counts
 *   pnpm bench --only 2,7  some figures only
 */
import { spawn } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { cpus, tmpdir, totalmem } from "node:os"
import { join } from "node:path"
import { dropRunDatabases, withAdmin } from "./lib/Database.js"
import { quick, runId } from "./lib/Mode.js"
import { BENCH_ROOT, REPO_ROOT } from "./lib/Processes.js"
import * as Redis from "./lib/Redis.js"
import { GROUPS } from "./Groups.js"
import { type Figure, renderMarkdown, renderTable } from "./Report.js"

const onlyIndex = process.argv.indexOf("--only")
const only =
  onlyIndex === -1
    ? undefined
    : new Set(
        (process.argv[onlyIndex + 1] ?? "")
          .split(",")
          .map((n) => Number(n.trim()))
          .filter((n) => Number.isInteger(n))
      )
/** Per group: a figure process past this is stopped and reported as failed. */
const GROUP_TIMEOUT_MS = quick ? 100_000 : 45 * 60_000

let current: ReturnType<typeof spawn> | undefined
let stopping = false

const runGroup = (name: string): Promise<ReadonlyArray<Figure>> => {
  const group = GROUPS[name]!
  const out = join(tmpdir(), `keys-bench-${runId}-${name}.json`)
  rmSync(out, { force: true })
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--max-old-space-size=8192",
        "src/figure.ts",
        name,
        "--out",
        out,
        ...(quick ? ["--quick"] : [])
      ],
      {
        cwd: BENCH_ROOT,
        env: { ...process.env, BENCH_RUN_ID: runId },
        stdio: ["ignore", "inherit", "inherit"]
      }
    )
    current = child
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 15_000).unref()
    }, GROUP_TIMEOUT_MS)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      current = undefined
      let figures: ReadonlyArray<Figure> | undefined
      try {
        figures = JSON.parse(readFileSync(out, "utf8")) as ReadonlyArray<Figure>
        rmSync(out, { force: true })
      } catch {
        figures = undefined
      }
      if (figures !== undefined && !timedOut) return resolve(figures)
      const reason = timedOut
        ? `stopped after ${GROUP_TIMEOUT_MS / 1000} s`
        : `the figure process exited (${code ?? signal}) without results`
      resolve(
        group.figures.map((id) => ({
          id,
          title: group.title,
          rows: [],
          parameters: {},
          notes: [],
          limits: "",
          error: reason
        }))
      )
    })
  })
}

const describeMachine = async (): Promise<string> => {
  const postgres = await withAdmin((client) =>
    client.query<{ v: string }>("select current_setting($1) as v", ["server_version"])
  )
    .then(({ rows }) => `PostgreSQL ${rows[0]!.v.split(" ")[0]}`)
    .catch(() => "PostgreSQL unreachable")
  return `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${postgres}`
}

const main = async () => {
  const started = performance.now()
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      stopping = true
      current?.kill("SIGTERM")
    })
  }
  const reachable = await withAdmin((client) => client.query("select 1")).then(
    () => true,
    () => false
  )
  if (!reachable) {
    process.stderr.write(
      "bench: PostgreSQL does not answer at 127.0.0.1:5432; start it (see DEVELOPERS.md)\n"
    )
    process.exit(1)
  }
  const machine = await describeMachine()
  const mode = quick ? "quick" : "full"
  process.stdout.write(
    `keys bench (${mode}) — ${machine}; run ${runId}\n` +
      (quick
        ? "quick mode: fewer rounds (1–3), shorter loads (1–1.5 s), smaller key counts (1 000/10 000/50 000 stored, 6 000 cached, 50 revocations, 200 peer keys); each figure lists its parameters.\n"
        : "full mode: medians of 3–7 rounds; 1 000/100 000/1 000 000 keys stored, 1 000 000 cached, 200 revocations.\n")
  )
  if (!(await Redis.ping())) process.stdout.write("warning: Redis does not answer at 127.0.0.1:6379\n")

  const figures: Array<Figure> = []
  for (const [name, group] of Object.entries(GROUPS)) {
    if (stopping) break
    if (only !== undefined && !group.figures.some((id) => only.has(id))) continue
    const groupStarted = performance.now()
    process.stdout.write(`\n▸ figure ${group.figures.join(" and ")}: ${group.title}\n`)
    const results = await runGroup(name)
    figures.push(...results)
    process.stdout.write(
      `${renderTable(results)}\n  (${((performance.now() - groupStarted) / 1000).toFixed(1)} s)\n`
    )
  }

  // Safety net: whatever a crashed or stopped figure left behind.
  await dropRunDatabases(runId).catch(() => 0)
  await Redis.deleteByPattern(`${Redis.PREFIX_ROOT}:${runId}:*`).catch(() => 0)

  figures.sort((a, b) => a.id - b.id)
  const seconds = (performance.now() - started) / 1000
  const date = new Date().toISOString()
  process.stdout.write(`\n${renderTable(figures)}\n\n`)
  for (const figure of figures) {
    const parameters = Object.entries(figure.parameters)
      .map(([name, value]) => `${name} ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(", ")
    if (parameters !== "") process.stdout.write(`  ${figure.id}: ${parameters}\n`)
  }
  const directory = join(REPO_ROOT, "bench")
  mkdirSync(directory, { recursive: true })
  writeFileSync(
    join(directory, "results.json"),
    `${JSON.stringify({ mode, date, machine, seconds, runId, figures }, null, 2)}\n`
  )
  writeFileSync(join(directory, "results.md"), renderMarkdown(figures, { mode, date, machine, seconds }))
  process.stdout.write(`\nwrote bench/results.json and bench/results.md (${mode}, ${seconds.toFixed(0)} s)\n`)
  const failed = figures.filter((figure) => figure.error !== undefined)
  if (failed.length > 0 || stopping) {
    process.stderr.write(`bench: ${failed.length} figure(s) failed: ${failed.map((f) => f.id).join(", ")}\n`)
    process.exit(1)
  }
}

void main()
