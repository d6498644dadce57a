// The baseline of the memory figure: the least an in-process verification cache must hold, a Map
// from the 64-character hex SHA-256 of each key to a small record ({ id, teamId }). Run with
// --expose-gc; prints resident set size and V8 heap used before and after filling it with N
// entries (each after full garbage collections), as JSON.
import { createHash, randomBytes } from "node:crypto"

const count = Number(process.argv[2])
const measure = async () => {
  await new Promise((resolve) => setTimeout(resolve, 300))
  globalThis.gc?.()
  globalThis.gc?.()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed }
}

const before = await measure()
const map = new Map()
for (let i = 0; i < count; i++) {
  const hash = createHash("sha256").update(randomBytes(32)).digest("hex")
  map.set(hash, { id: `key_${i.toString(36).padStart(16, "0")}`, teamId: "bench" })
}
const after = await measure()
process.stdout.write(`${JSON.stringify({ count: map.size, before, after })}\n`)
