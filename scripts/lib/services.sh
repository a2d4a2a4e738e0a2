# shellcheck shell=bash
# PostgreSQL and Redis: use the machine's running servers; start them if installed but stopped;
# install them from Debian packages if absent (as root, on a fresh machine).

log() { printf '[infra] %s\n' "$*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then log "need root to apt-get install $*"; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

pg_ready() {
  PGPASSWORD="${POSTGRES_PASSWORD:-}" psql -h "${POSTGRES_HOST:-127.0.0.1}" -p "${POSTGRES_PORT:-5432}" \
    -U "${POSTGRES_USER:-postgres}" -d postgres -tAc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  if pg_ready; then log "PostgreSQL answers on ${POSTGRES_HOST:-127.0.0.1}:${POSTGRES_PORT:-5432}"; return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "PostgreSQL is not installed; installing the Debian package"
    apt_install postgresql postgresql-client || return 1
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$version" ]; then
    log "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 2>&1 || true
    echo "pg:$version" >> "$STATE_DIR/started-services"
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  if ! pg_ready && [ "$(id -u)" = 0 ] && command -v su >/dev/null; then
    # A fresh Debian cluster authenticates TCP clients by password: give the postgres user one.
    log "setting a password for the postgres user (fresh cluster)"
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >&2 && export POSTGRES_PASSWORD=postgres
  fi
  pg_ready || { log "PostgreSQL is not reachable"; return 1; }
}

redis_ready() { redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  if ! command -v redis-cli >/dev/null 2>&1; then
    log "Redis is not installed; installing the Debian package"
    apt_install redis-server redis-tools || return 1
  fi
  if redis_ready; then log "Redis answers on ${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}"; return 0; fi
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port "${REDIS_PORT:-6379}" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/sentinel.log >&2
  echo "redis:${REDIS_PORT:-6379}" >> "$STATE_DIR/started-services"
  for _ in $(seq 1 20); do redis_ready && return 0; sleep 0.5; done
  log "Redis is not reachable"; return 1
}

ensure_psql_client() {
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
}
