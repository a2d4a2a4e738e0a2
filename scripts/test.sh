#!/usr/bin/env bash
# The README's test command (`npm test`): does all set-up on a fresh machine and runs every suite
# against the real Kafka, schema registry, PostgreSQL and Redis.
#   1. Node.js 24 (fetched into .tools/ when the machine's node is older) and npm ci;
#   2. the infrastructure (scripts/infra.sh up), unless it is already running — then it is reused;
#   3. type check, lint, unit, integration and end-to-end tests.
# It stops, by pid, only what it started. Set SUITES="unit int" to run some suites only.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/lib/node.sh
ensure_node24

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[test] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/setup-extras.sh

if [ "${CI:-}" = "true" ]; then
  # CI runs beside whatever a developer has running on this machine: its own ports and registry database.
  export KAFKA_PORT=${KAFKA_PORT:-29092} KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-29093}
  export REGISTRY_PORT=${REGISTRY_PORT:-28081} REGISTRY_MANAGEMENT_PORT=${REGISTRY_MANAGEMENT_PORT:-28082}
  export REGISTRY_DB=${REGISTRY_DB:-sentinel_registry_ci}
fi

started_infra=0
# The status is read whole first: `status | grep -q` under pipefail fails when grep stops reading early.
infra_status=$(bash scripts/infra.sh status || true)
if ! grep -q '^kafka: running' <<< "$infra_status" || ! grep -q '^registry: running' <<< "$infra_status"; then
  bash scripts/infra.sh up --fresh
  started_infra=1
fi
cleanup() { if [ "$started_infra" = 1 ]; then bash scripts/infra.sh down; fi; }
trap cleanup EXIT
bash scripts/infra.sh env > /dev/null
set -a; source .state/env; set +a
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"
export LOG_LEVEL=${LOG_LEVEL:-silent}

SUITES=${SUITES:-static unit int e2e}
start=$(date +%s)
for suite in $SUITES; do
  echo "[test] === $suite ===" >&2
  case "$suite" in
    static) npx tsc --noEmit -p tsconfig.json && npx eslint --max-warnings 0 . ;;
    unit) node --test --test-reporter=spec --test-concurrency=2 'test/unit/**/*.test.ts' ;;
    int) node --test --test-reporter=spec --test-concurrency=2 --test-timeout=300000 'test/int/**/*.test.ts' ;;
    e2e) if compgen -G 'test/e2e/**/*.test.ts' > /dev/null || ls test/e2e/*.test.ts >/dev/null 2>&1; then
           node --test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 'test/e2e/**/*.test.ts'
         fi ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
  esac
done
echo "[test] all suites passed in $(( $(date +%s) - start )) s" >&2
