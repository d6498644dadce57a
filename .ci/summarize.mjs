// Sums every vitest JSON report (packages/*/test-results/vitest.json, apps/*, examples/*) into the
// one line CI reads. Exits non-zero when a package's report is missing or a test failed.
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

let passed = 0
let failed = 0
const missing = []
const failures = []
for (const root of ["packages", "apps", "examples"]) {
  if (!existsSync(root)) continue
  for (const name of readdirSync(root)) {
    const dir = join(root, name)
    const manifest = join(dir, "package.json")
    if (!existsSync(manifest)) continue
    const { scripts = {} } = JSON.parse(readFileSync(manifest, "utf8"))
    if (!scripts.test) continue
    const report = join(dir, "test-results", "vitest.json")
    if (!existsSync(report)) {
      missing.push(dir)
      continue
    }
    const result = JSON.parse(readFileSync(report, "utf8"))
    passed += result.numPassedTests
    failed += result.numFailedTests
    // A suite that failed to load counts as a failure even with no test inside it.
    for (const file of result.testResults ?? []) {
      const where = file.name.slice(file.name.indexOf(dir))
      if (file.status === "failed" && file.assertionResults.length === 0) {
        failed += 1
        failures.push(`${where}: ${firstLine(file.message)}`)
      }
      for (const test of file.assertionResults) {
        if (test.status === "failed") {
          failures.push(`${where} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`)
        }
      }
    }
  }
}
for (const failure of failures) console.log(`failed: ${failure}`)
for (const dir of missing) console.log(`no vitest report from ${dir} (its tests did not run)`)
failed += missing.length
console.log(`ci: ${passed} passed, ${failed} failed`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)

function firstLine(text) {
  return String(text ?? "")
    .split("\n")[0]
    .slice(0, 300)
}
