#!/usr/bin/env bash
# The README's "run the whole stack" command (`npm run stack`): on a fresh machine it fetches
# Node.js 24 and the npm dependencies, starts Kafka, the schema registry, PostgreSQL and Redis
# (scripts/infra.sh), applies topics.yaml, registers the schemas, and runs the four services on
# their local default ports. Ctrl-C (or SIGTERM) stops the services, then what infra.sh started.
#   STACK_DETACH=1 npm run stack   # leave everything running in the background; stop with
#   bash scripts/stack.sh stop
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/lib/node.sh
ensure_node24
STATE=$ROOT/.state
SERVICES=(policy:consumers/policy/main.ts:5000:/api/health signer:consumers/signer/main.ts:3000:/health executor:consumers/executor/main.ts:7000:/health channels:producers/channels/main.ts:8080:/api/health)

stop_services() {
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    pidfile=$STATE/services/$name.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "[stack] stopping $name" >&2
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  for entry in "${SERVICES[@]}"; do
    name=${entry%%:*}
    pidfile=$STATE/services/$name.pid
    for _ in $(seq 1 40); do [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.25; done
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_services
  bash scripts/infra.sh down
  exit 0
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[stack] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/setup-extras.sh
bash scripts/infra.sh up
set -a; source "$STATE/env"; set +a
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"
node src/cli/main.ts topics apply
node src/cli/main.ts schemas register

mkdir -p "$STATE/services" "$STATE/logs"
trap 'stop_services; bash scripts/infra.sh down; exit 0' INT TERM
for entry in "${SERVICES[@]}"; do
  IFS=: read -r name main _port _health <<< "$entry"
  echo "[stack] starting $name (log: .state/logs/$name.log)" >&2
  nohup node "$main" >> "$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$STATE/services/$name.pid"
done
for entry in "${SERVICES[@]}"; do
  IFS=: read -r name _main port _health <<< "$entry"
  for i in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$(cat "$STATE/services/$name.pid")" 2>/dev/null || [ "$i" = 120 ]; then
      echo "[stack] $name did not become ready; last lines of its log:" >&2
      tail -30 "$STATE/logs/$name.log" >&2
      stop_services; exit 1
    fi
    sleep 0.5
  done
done
cat <<MSG >&2

Aureus Sentinel is running on local defaults:
  web chat          http://127.0.0.1:8080/          (sign in as alice; open a second tab as carol to approve)
  channels API      POST http://127.0.0.1:8080/api/message, WebSocket ws://127.0.0.1:8081/ws
  policy API        http://127.0.0.1:5000/api/check-policy
  signer API        http://127.0.0.1:3000/public-key
  executor          http://127.0.0.1:7000/ready
  metrics           /metrics on each port; logs in .state/logs/
MSG
if [ "${STACK_DETACH:-}" = "1" ]; then
  trap - INT TERM
  echo "[stack] detached; stop with: bash scripts/stack.sh stop" >&2
  exit 0
fi
echo "Ctrl-C stops everything." >&2
wait
