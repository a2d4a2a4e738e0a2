# syntax=docker/dockerfile:1.7
# One image for every Aureus Sentinel service. Node.js 24 runs the TypeScript sources directly
# (type stripping), so there is no build step: the image is the sources plus production deps.
#
#   docker build -t aureus-sentinel:local .
#   docker run --rm aureus-sentinel:local policy      # or signer | executor | channels | cli ...
#
# The first argument selects the service (see sentinel-entrypoint below); docker-compose.yml
# passes it as `command`, the Kubernetes Deployments as `args`.
# Checked by test/unit/deploy/dockerfile.unit.test.ts (no Docker engine runs on our machines).

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- dependencies: production only, from the lock file, no install scripts -----------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="aureus-sentinel" \
      org.opencontainers.image.description="Aureus Sentinel services: channels, policy, signer, executor" \
      org.opencontainers.image.licenses="Apache-2.0"

# HOST: the services bind to loopback by default (src/config); in a container they must listen
# on every interface or no probe, Service or published port reaches them.
# NODE_OPTIONS: kafkajs sets negative timers on Node 24; bin/sentinel silences the same warning.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning

WORKDIR /app
# Sources and production dependencies stay owned by root and read-only for the service user;
# the containers run with a read-only root filesystem and a writable /tmp only.
COPY --from=deps /app/node_modules ./node_modules
COPY . .

COPY --chmod=0755 <<"EOF" /usr/local/bin/sentinel-entrypoint
#!/bin/sh
# Selects the Aureus Sentinel service to run; the remaining arguments are passed on.
set -eu
service="${1:-}"
if [ "$#" -gt 0 ]; then shift; fi
case "$service" in
  policy|aureus-os)   exec node consumers/policy/main.ts "$@" ;;
  signer|bridge)      exec node consumers/signer/main.ts "$@" ;;
  executor)           exec node consumers/executor/main.ts "$@" ;;
  channels|openclaw)  exec node producers/channels/main.ts "$@" ;;
  cli|sentinel)       exec node src/cli/main.ts "$@" ;;
  *)
    echo "usage: sentinel-entrypoint policy|signer|executor|channels|cli [args...]" >&2
    exit 64 ;;
esac
EOF

# The node user of the official image (uid/gid 1000); the Kubernetes manifests pin the same ids.
USER 1000:1000

# channels HTTP + WebSocket, policy, signer, executor (health/ready/metrics)
EXPOSE 8080 8081 5000 3000 7000
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sentinel-entrypoint"]
