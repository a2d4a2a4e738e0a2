#!/usr/bin/env bash
# `npm run bench`: runs every benchmark in bench/ against the real infrastructure (started if
# needed), each with its baselines measured in the same run, then writes bench/results/README.md
# (one table of ratios) and the latency-vs-load chart. BENCH_ONLY="messaging policy" runs some.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source scripts/lib/node.sh
ensure_node24
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
bash scripts/setup-extras.sh
started_infra=0
# The status is read whole first: `status | grep -q` under pipefail fails when grep stops reading early.
infra_status=$(bash scripts/infra.sh status || true)
if ! grep -q '^kafka: running' <<< "$infra_status"; then bash scripts/infra.sh up; started_infra=1; fi
trap '[ "$started_infra" = 1 ] && bash scripts/infra.sh down' EXIT
set -a; source .state/env; set +a
export NODE_OPTIONS="${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"
for file in bench/*.bench.ts; do
  name=$(basename "$file" .bench.ts)
  if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then continue; fi
  echo "[bench] === $name ===" >&2
  node "$file"
done
node bench/summary.ts
