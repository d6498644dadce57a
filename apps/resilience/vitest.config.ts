import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" },
    // One file at a time: the load test must have the machine to itself, and each file starts its
    // own API and worker processes and private servers.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000
  }
})
