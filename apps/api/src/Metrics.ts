/**
 * Prometheus metrics of the API: requests and latency by route and status (both the lean
 * verification path and the HttpApi stack record here), plus the core's verification, cache and
 * usage counters read at scrape time.
 */
import type { ApiKeys, UsageRecorder } from "@keys/core"

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

interface Series {
  count: number
  sum: number
  readonly buckets: Array<number>
}

export interface Metrics {
  readonly observe: (method: string, route: string, status: number, seconds: number) => void
  readonly render: (keys: ApiKeys.VerificationStats, usage: UsageRecorder.UsageStats) => string
}

/** A bounded label for a path: ids are folded so the series count stays small. */
export const routeOf = (method: string, path: string): string => {
  if (path === "/v1/keys/verify" || path === "/v1/keys" || path === "/v1/auth" || path === "/v1/audit")
    return path
  if (path === "/healthz" || path === "/readyz" || path === "/metrics" || path === "/openapi.json")
    return path
  if (path.startsWith("/v1/keys/"))
    return path.endsWith("/roll") && method === "POST" ? "/v1/keys/{id}/roll" : "/v1/keys/{id}"
  if (path === "/docs" || path.startsWith("/docs/")) return "/docs"
  if (path === "/dashboard" || path.startsWith("/dashboard/")) return "/dashboard"
  return "other"
}

export const make = (): Metrics => {
  const series = new Map<string, Series>()
  const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')

  const observe: Metrics["observe"] = (method, route, status, seconds) => {
    const id = `${method}\u0000${route}\u0000${status}`
    let entry = series.get(id)
    if (entry === undefined) {
      entry = { count: 0, sum: 0, buckets: BUCKETS.map(() => 0) }
      series.set(id, entry)
    }
    entry.count++
    entry.sum += seconds
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) entry.buckets[i]!++
  }

  const render: Metrics["render"] = (keys, usage) => {
    const lines: Array<string> = []
    lines.push("# HELP keys_http_requests_total HTTP requests by method, route and status.")
    lines.push("# TYPE keys_http_requests_total counter")
    const labelsOf = (id: string) => {
      const [method, route, status] = id.split("\u0000")
      return `method="${escapeLabel(method!)}",route="${escapeLabel(route!)}",status="${status}"`
    }
    for (const [id, entry] of series) lines.push(`keys_http_requests_total{${labelsOf(id)}} ${entry.count}`)
    lines.push("# HELP keys_http_request_duration_seconds HTTP request latency by method, route and status.")
    lines.push("# TYPE keys_http_request_duration_seconds histogram")
    for (const [id, entry] of series) {
      const labels = labelsOf(id)
      BUCKETS.forEach((bound, i) => {
        lines.push(`keys_http_request_duration_seconds_bucket{${labels},le="${bound}"} ${entry.buckets[i]}`)
      })
      lines.push(`keys_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${entry.count}`)
      lines.push(`keys_http_request_duration_seconds_sum{${labels}} ${entry.sum}`)
      lines.push(`keys_http_request_duration_seconds_count{${labels}} ${entry.count}`)
    }
    lines.push("# HELP keys_verifications_total Verifications by outcome code.")
    lines.push("# TYPE keys_verifications_total counter")
    for (const [code, count] of Object.entries(keys.outcomes))
      lines.push(`keys_verifications_total{code="${code}"} ${count}`)
    lines.push("# HELP keys_cache_hits_total Verifications answered from the cache.")
    lines.push("# TYPE keys_cache_hits_total counter")
    lines.push(`keys_cache_hits_total ${keys.cacheHits}`)
    lines.push("# HELP keys_cache_misses_total Verifications that read the store.")
    lines.push("# TYPE keys_cache_misses_total counter")
    lines.push(`keys_cache_misses_total ${keys.cacheMisses}`)
    lines.push(
      "# HELP keys_cache_stale_hits_total Verifications answered from the cache while the store and invalidations were down."
    )
    lines.push("# TYPE keys_cache_stale_hits_total counter")
    lines.push(`keys_cache_stale_hits_total ${keys.staleHits}`)
    lines.push("# HELP keys_usage_flushes_total Usage batches handed to the sink.")
    lines.push("# TYPE keys_usage_flushes_total counter")
    lines.push(`keys_usage_flushes_total ${usage.flushes}`)
    lines.push("# TYPE keys_usage_failed_flushes_total counter")
    lines.push(`keys_usage_failed_flushes_total ${usage.failedFlushes}`)
    lines.push("# HELP keys_usage_last_flush_keys Keys in the last usage batch.")
    lines.push("# TYPE keys_usage_last_flush_keys gauge")
    lines.push(`keys_usage_last_flush_keys ${usage.lastFlushSize}`)
    lines.push("# TYPE keys_usage_pending_keys gauge")
    lines.push(`keys_usage_pending_keys ${usage.pendingKeys}`)
    lines.push(
      "# HELP keys_usage_dropped_total Verifications not recorded because the usage buffer was full."
    )
    lines.push("# TYPE keys_usage_dropped_total counter")
    lines.push(`keys_usage_dropped_total ${usage.dropped}`)
    return `${lines.join("\n")}\n`
  }

  return { observe, render }
}
