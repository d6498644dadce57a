#!/usr/bin/env bash
# Starts the keys API (embedded database) and nginx in front of ./static on loopback, prints a key
# with scope `read` and the curl that uses it. Ctrl-C stops both. Needs nginx (apt-get install nginx-light).
set -euo pipefail
cd "$(dirname "$0")"
KEYS_PORT=${KEYS_PORT:-8090}
NGINX_PORT=${NGINX_PORT:-8091}
WORK=$(mktemp -d /tmp/keys-forward-auth.XXXXXX)
chmod 755 "$WORK"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

KEYS_DATA_DIR="$WORK/data" PORT=$KEYS_PORT npx tsx ../../apps/api/src/main.ts > "$WORK/api.log" 2>&1 &
for _ in $(seq 1 120); do grep -q "Bearer sk_" "$WORK/api.log" && break; sleep 0.5; done
ROOT=$(grep -o 'Bearer sk_[0-9A-Za-z_]*' "$WORK/api.log" | head -1 | cut -d' ' -f2)
KEY=$(curl -s -X POST "http://127.0.0.1:$KEYS_PORT/v1/keys" -H "Authorization: Bearer $ROOT" \
  -H 'Content-Type: application/json' -d '{"name":"reader","scopes":["read"]}' | sed -E 's/.*"key":"([^"]+)".*/\1/')

CONFIG=$(npx tsx src/render.ts "$WORK/nginx" "$NGINX_PORT" "http://127.0.0.1:$KEYS_PORT")
nginx -c "$CONFIG" &
sleep 1
echo "nginx on http://127.0.0.1:$NGINX_PORT, keys API on http://127.0.0.1:$KEYS_PORT"
echo "  curl -i -H 'Authorization: Bearer $KEY' http://127.0.0.1:$NGINX_PORT/     # 200"
echo "  curl -i http://127.0.0.1:$NGINX_PORT/                                    # 401"
wait
