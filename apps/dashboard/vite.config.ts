import { defineConfig } from "vite"

/**
 * The dashboard is served by apps/api under /dashboard/. `vite` (dev) proxies the session and API
 * calls to an API on 127.0.0.1:8080 (`pnpm start`); `vite build` writes dist/, which the API serves.
 */
export default defineConfig({
  base: "/dashboard/",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024
  },
  server: {
    proxy: { "/dashboard/api": "http://127.0.0.1:8080" }
  }
})
