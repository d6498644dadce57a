/** Figures run in groups, one process each; a group shares its setup (figures 6 and 8 one database). */
export interface Group {
  readonly figures: ReadonlyArray<number>
  readonly module: string
  readonly title: string
}

export const GROUPS: Readonly<Record<string, Group>> = {
  core: { figures: [1], module: "./figures/CoreVerify.js", title: "core verification, warm cache" },
  http: { figures: [2], module: "./figures/HttpVerify.js", title: "HTTP verification, 50 connections" },
  "cache-miss": { figures: [3], module: "./figures/CacheMiss.js", title: "cache-miss latency" },
  usage: { figures: [4], module: "./figures/UsageWrites.js", title: "writes and lastUsedAt lag" },
  revocation: { figures: [5], module: "./figures/Revocation.js", title: "revocation propagation" },
  peer: { figures: [7], module: "./figures/Peer.js", title: "the peer, Better Auth" },
  stored: { figures: [6, 8], module: "./figures/StoredKeys.js", title: "memory and scaling with keys stored" }
}
