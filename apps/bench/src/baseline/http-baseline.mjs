// The baseline of the HTTP figures: bare node:http doing what verification minimally must (read the
// body, one SHA-256, one Map.get) and nothing else. Tokens come from the file BASELINE_TOKENS_FILE
// (one per line); it listens on PORT.
import { hash } from "node:crypto"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"

// The same one-shot SHA-256 the core uses (`sha256Hex` of @keys/core/node).
const hashOf = (token) => hash("sha256", token, "hex")
const tokens = readFileSync(process.env.BASELINE_TOKENS_FILE, "utf8").split("\n").filter(Boolean)
const keys = new Map(tokens.map((token) => [hashOf(token), { id: token.slice(0, 12) }]))

const server = createServer((req, res) => {
  if (req.url === "/healthz") return res.writeHead(200, { "content-length": "0" }).end()
  if (req.method === "GET") {
    const token = (req.headers.authorization ?? "").slice(7)
    const found = keys.get(hashOf(token))
    res.writeHead(found ? 200 : 401, { "x-key-id": found?.id ?? "", "content-length": "0" })
    return res.end()
  }
  const chunks = []
  req.on("data", (chunk) => chunks.push(chunk))
  req.on("end", () => {
    const { key } = JSON.parse(Buffer.concat(chunks).toString("utf8"))
    const found = keys.get(hashOf(key))
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ valid: found !== undefined, code: found ? "valid" : "invalid_api_key" }))
  })
})
server.listen(Number(process.env.PORT), "127.0.0.1")
