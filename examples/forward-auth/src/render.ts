/** Renders nginx.conf.template into a prefix directory; answers the config path. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const TEMPLATE = fileURLToPath(new URL("../nginx.conf.template", import.meta.url))
export const STATIC_DIR = fileURLToPath(new URL("../static", import.meta.url))

export const render = (options: {
  readonly prefix: string
  readonly nginxPort: number
  readonly keysUrl: string
}): string => {
  mkdirSync(options.prefix, { recursive: true })
  const config = readFileSync(TEMPLATE, "utf8")
    .replaceAll("{{NGINX_PORT}}", String(options.nginxPort))
    .replaceAll("{{KEYS_URL}}", options.keysUrl)
    .replaceAll("{{STATIC_DIR}}", STATIC_DIR)
    .replaceAll("{{PREFIX}}", options.prefix)
  const path = join(options.prefix, "nginx.conf")
  writeFileSync(path, config)
  return path
}

// `tsx src/render.ts <prefix> <nginx port> <keys url>`: for start.sh.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [prefix, port, keysUrl] = process.argv.slice(2)
  console.log(render({ prefix: prefix!, nginxPort: Number(port), keysUrl: keysUrl! }))
}
