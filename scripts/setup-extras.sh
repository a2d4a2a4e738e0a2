#!/usr/bin/env bash
# Machine packages some suites need, installed when absent (Debian): kept in one place.
set -euo pipefail
source "$(dirname "$0")/lib/services.sh"
need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then log "installing ${need[*]}"; apt_install "${need[@]}"; fi
