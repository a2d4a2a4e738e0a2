#!/usr/bin/env bash
# Machine packages some suites need, installed when absent (Debian): kept in one place.
set -euo pipefail
source "$(dirname "$0")/lib/services.sh"
need=()
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The web chat end-to-end test drives Debian's Chromium (/usr/bin/chromium) through playwright-core.
[ -x /usr/bin/chromium ] || need+=(chromium)
# The Python approvals subscriber (examples/python-subscriber, docs/subscribers.md) and its test use
# Debian's python3 with these packages (bookworm: confluent-kafka 1.7.0, avro 1.11.1, PyNaCl 1.5.0).
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || need+=(python3-confluent-kafka)
/usr/bin/python3 -c 'import avro.io' >/dev/null 2>&1 || need+=(python3-avro)
/usr/bin/python3 -c 'import nacl.signing' >/dev/null 2>&1 || need+=(python3-nacl)
if [ ${#need[@]} -gt 0 ]; then log "installing ${need[*]}"; apt_install "${need[@]}"; fi
