/**
 * What a figure reports and how the harness prints it: one row per measured value, beside the
 * baseline measured in the same run, their ratio, and the target where the issue sets one.
 */

export type Unit = "ops/s" | "req/s" | "ms" | "statements" | "MiB" | "B/key" | "per verification" | "count"

export interface Row {
  readonly label: string
  readonly value: number | null
  readonly unit: Unit
  readonly baselineLabel?: string
  readonly baseline?: number | null
  /** value / baseline unless stated otherwise in the label. */
  readonly ratio?: number | null
  readonly target?: string
  readonly met?: boolean | null
}

export interface Figure {
  readonly id: number
  readonly title: string
  readonly rows: ReadonlyArray<Row>
  /** How it was measured in this run (sizes, durations, rounds). */
  readonly parameters: Readonly<Record<string, unknown>>
  readonly notes: ReadonlyArray<string>
  /** What bounds the figure (the machine, the method, the design). */
  readonly limits: string
  /** The figure could not run here (a peer that cannot be installed); the run goes on. */
  readonly skipped?: string
  readonly error?: string
  readonly seconds?: number
}

export const ratioOf = (value: number | null, baseline: number | null): number | null =>
  value === null ||
  baseline === null ||
  !Number.isFinite(value) ||
  !Number.isFinite(baseline) ||
  baseline === 0
    ? null
    : value / baseline

const grouped = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

export const formatValue = (value: number | null | undefined, unit: Unit): string => {
  if (value === null || value === undefined || Number.isNaN(value)) return "—"
  switch (unit) {
    case "ops/s":
    case "req/s":
      return `${grouped(value)} ${unit}`
    case "ms":
      return `${value < 10 ? value.toFixed(2) : grouped(value, value < 100 ? 1 : 0)} ms`
    case "MiB":
      return `${grouped(value, 1)} MiB`
    case "B/key":
      return `${grouped(value)} B/key`
    case "per verification":
      return value === 0 ? "0 /verif." : `${value < 0.01 ? value.toExponential(1) : value.toFixed(2)} /verif.`
    case "statements":
    case "count":
      return grouped(value, Number.isInteger(value) ? 0 : 2)
  }
}

const formatRatio = (ratio: number | null | undefined): string =>
  ratio === null || ratio === undefined || !Number.isFinite(ratio)
    ? "—"
    : `${ratio >= 100 ? grouped(ratio) : ratio > 0 && ratio < 0.01 ? ratio.toExponential(1) : ratio.toFixed(2)}×`

const formatMet = (met: boolean | null | undefined): string =>
  met === true ? "met" : met === false ? "NOT met" : ""

interface Line {
  readonly figure: string
  readonly measure: string
  readonly ours: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  readonly met: string
}

const linesOf = (figures: ReadonlyArray<Figure>): Array<Line> =>
  figures.flatMap((figure) =>
    figure.error !== undefined || figure.skipped !== undefined
      ? [
          {
            figure: String(figure.id),
            measure: `${figure.title}: ${figure.error === undefined ? "SKIPPED" : "FAILED"}`,
            ours: (figure.error ?? figure.skipped ?? "").split("\n")[0]!.slice(0, 100),
            baseline: "",
            ratio: "",
            target: "",
            met: ""
          }
        ]
      : figure.rows.map((row) => ({
          figure: String(figure.id),
          measure: row.label,
          ours: formatValue(row.value, row.unit),
          baseline:
            row.baselineLabel === undefined
              ? ""
              : `${row.baselineLabel}: ${formatValue(row.baseline, row.unit)}`,
          ratio: formatRatio(row.ratio),
          target: row.target ?? "",
          met: formatMet(row.met)
        }))
  )

const HEADER: Line = {
  figure: "#",
  measure: "measure",
  ours: "ours",
  baseline: "baseline (same run)",
  ratio: "ratio",
  target: "target",
  met: ""
}
const COLUMNS = ["figure", "measure", "ours", "baseline", "ratio", "target", "met"] as const

export const renderTable = (figures: ReadonlyArray<Figure>): string => {
  const lines = [HEADER, ...linesOf(figures)]
  const widths = COLUMNS.map((column) => Math.max(...lines.map((line) => line[column].length)))
  const render = (line: Line) =>
    COLUMNS.map((column, i) =>
      column === "ours" || column === "ratio"
        ? line[column].padStart(widths[i]!)
        : line[column].padEnd(widths[i]!)
    )
      .join("  ")
      .trimEnd()
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  return [render(HEADER), rule, ...lines.slice(1).map(render)].join("\n")
}

const cell = (text: string) => text.replace(/\|/g, "\\|")

export const renderMarkdown = (
  figures: ReadonlyArray<Figure>,
  meta: { readonly mode: string; readonly date: string; readonly machine: string; readonly seconds: number }
): string => {
  const out: Array<string> = []
  out.push("# `pnpm bench` results", "")
  out.push(
    `${meta.mode} run, ${meta.date}, ${meta.machine}, ${Math.round(meta.seconds)} s. Ratios are ours / the baseline measured in the same run; absolute numbers depend on the machine (shared and noisy) and are informative only.`,
    ""
  )
  out.push(
    "| # | measure | ours | baseline (same run) | ratio | target | |",
    "|---|---|---:|---|---:|---|---|"
  )
  for (const line of linesOf(figures)) {
    out.push(
      `| ${[line.figure, line.measure, line.ours, line.baseline, line.ratio, line.target, line.met].map(cell).join(" | ")} |`
    )
  }
  out.push("")
  for (const figure of figures) {
    out.push(`## ${figure.id}. ${figure.title}`, "")
    const parameters = Object.entries(figure.parameters)
      .map(([name, value]) => `${name} ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(", ")
    if (parameters !== "") out.push(`Measured with: ${parameters}.`, "")
    for (const note of figure.notes) out.push(`- ${note}`)
    if (figure.notes.length > 0) out.push("")
    out.push(`Limits: ${figure.limits}`, "")
    if (figure.skipped !== undefined) out.push(`Skipped: ${figure.skipped}`, "")
    if (figure.error !== undefined) out.push("```", figure.error, "```", "")
  }
  return out.join("\n")
}
