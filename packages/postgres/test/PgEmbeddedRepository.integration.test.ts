import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { keyRepositorySuite } from "@keys/core/testing/suite"
import { Effect, Layer } from "effect"
import { PgStore } from "../src/index.js"

// The same behaviour suite, on the embedded PGlite database the API uses by default.
const embedded = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "keys-pglite-suite-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dataDir) => PgStore.layerEmbedded({ dataDir })
  )
)

keyRepositorySuite("embedded PGlite", embedded)
