#!/usr/bin/env bash
# Local infrastructure for Sentinel, started by the project itself (no Docker here):
#   - Apache Kafka 4.1 (KRaft, single combined node) from Maven Central jars, as a java process;
#   - Apicurio Registry 3.3 (Confluent-compatible API at /apis/ccompat/v7) from Maven Central,
#     keeping its schemas in PostgreSQL so ids survive restarts;
#   - PostgreSQL and Redis: the machine's own, started or installed when absent.
# usage: scripts/infra.sh up [--fresh] | down | status | env
#        ports: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), REGISTRY_PORT (18081),
#               REGISTRY_MANAGEMENT_PORT (18082, Quarkus health/metrics)
# Writes pids under .state/ and stops only what it started, by pid. Prints nothing secret.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
STATE_DIR=${STATE_DIR:-$ROOT/.state}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${REGISTRY_PORT:-18081}
REGISTRY_MANAGEMENT_PORT=${REGISTRY_MANAGEMENT_PORT:-18082}
REGISTRY_DB=${REGISTRY_DB:-sentinel_registry}
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' infra/kafka/pom.xml)
mkdir -p "$STATE_DIR/kafka" "$STATE_DIR/registry"
touch "$STATE_DIR/started-services"
# shellcheck source=lib/services.sh
source "$ROOT/scripts/lib/services.sh"

port_open() { (echo > "/dev/tcp/127.0.0.1/$1") >/dev/null 2>&1; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

# The broker runs on Java 17+; Apicurio 3.3 needs Java 21+ (its classes are version 65).
find_java() {
  local min=$1 candidate
  for candidate in "${JAVA_HOME:-}/bin/java" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -x "$candidate" ] || continue
    if [ "$(java_major "$candidate")" -ge "$min" ] 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  return 1
}

fetch_kafka() {
  if [ ! -f "infra/kafka/target/lib/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
    mvn -q -B -f infra/kafka/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory=target/lib >&2
  fi
}

fetch_registry() {
  if [ ! -f infra/apicurio/target/app/quarkus-run.jar ]; then
    log "fetching Apicurio Registry from Maven Central"
    mvn -q -B -f infra/apicurio/pom.xml package >&2
  fi
}

kafka_up() {
  local fresh=$1 java cp data pidfile=$STATE_DIR/kafka/broker.pid
  if pid_alive "$pidfile" && port_open "$KAFKA_PORT"; then log "Kafka already running (pid $(cat "$pidfile"))"; return 0; fi
  if port_open "$KAFKA_PORT"; then log "port $KAFKA_PORT is taken by another process; set KAFKA_PORT"; return 1; fi
  java=$(find_java 17) || { log "Java 17+ is needed for Kafka"; return 1; }
  fetch_kafka
  cp="infra/kafka/target/lib/*"
  data=$STATE_DIR/kafka/data
  if [ "$fresh" = 1 ]; then rm -rf "$data" "$STATE_DIR/kafka/cluster-id"; fi
  [ -f "$STATE_DIR/kafka/cluster-id" ] || "$java" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1 > "$STATE_DIR/kafka/cluster-id"
  local overrides=(
    --override "listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    --override "advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    --override "controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT"
    --override "log.dirs=$data"
  )
  # StorageTool has no --override: format from a generated copy of the properties.
  sed -e "s#^listeners=.*#listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT#" \
      -e "s#^advertised.listeners=.*#advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT#" \
      -e "s#^controller.quorum.voters=.*#controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT#" \
      -e "s#^log.dirs=.*#log.dirs=$data#" infra/kafka/server.properties > "$STATE_DIR/kafka/server.properties"
  "$java" -cp "$cp" kafka.tools.StorageTool format --ignore-formatted -t "$(cat "$STATE_DIR/kafka/cluster-id")" \
    -c "$STATE_DIR/kafka/server.properties" > "$STATE_DIR/kafka/format.log" 2>&1 || { tail -20 "$STATE_DIR/kafka/format.log" >&2; return 1; }
  log "starting Kafka $KAFKA_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT"
  nohup "$java" -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp "$cp" kafka.Kafka "$STATE_DIR/kafka/server.properties" "${overrides[@]}" \
    > "$STATE_DIR/kafka/broker.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 90); do
    if grep -q 'Kafka Server started' "$STATE_DIR/kafka/broker.log" 2>/dev/null && port_open "$KAFKA_PORT"; then log "Kafka ready"; return 0; fi
    pid_alive "$pidfile" || break
    sleep 1
  done
  log "Kafka did not start; last lines of its log:"; tail -30 "$STATE_DIR/kafka/broker.log" >&2; return 1
}

registry_up() {
  local fresh=$1 java pidfile=$STATE_DIR/registry/registry.pid url
  url="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
  if pid_alive "$pidfile" && curl -fsS "$url/subjects" >/dev/null 2>&1; then log "registry already running (pid $(cat "$pidfile"))"; return 0; fi
  if port_open "$REGISTRY_PORT"; then log "port $REGISTRY_PORT is taken by another process; set REGISTRY_PORT"; return 1; fi
  java=$(find_java 21) || { log "Java 21+ is needed for Apicurio Registry 3.3 (looked in JAVA_HOME, PATH and /usr/lib/jvm)"; return 1; }
  fetch_registry
  local pgpass=${POSTGRES_PASSWORD:-}
  if [ "$fresh" = 1 ]; then
    PGPASSWORD="$pgpass" psql -h "${POSTGRES_HOST:-127.0.0.1}" -p "${POSTGRES_PORT:-5432}" -U "${POSTGRES_USER:-postgres}" -d postgres -qc "DROP DATABASE IF EXISTS \"$REGISTRY_DB\" WITH (FORCE)" >&2
  fi
  PGPASSWORD="$pgpass" psql -h "${POSTGRES_HOST:-127.0.0.1}" -p "${POSTGRES_PORT:-5432}" -U "${POSTGRES_USER:-postgres}" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$REGISTRY_DB'" | grep -q 1 || \
    PGPASSWORD="$pgpass" psql -h "${POSTGRES_HOST:-127.0.0.1}" -p "${POSTGRES_PORT:-5432}" -U "${POSTGRES_USER:-postgres}" -d postgres -qc "CREATE DATABASE \"$REGISTRY_DB\"" >&2
  log "starting Apicurio Registry on 127.0.0.1:$REGISTRY_PORT (storage: PostgreSQL database $REGISTRY_DB)"
  # The datasource password is passed through the environment, never on the command line.
  APICURIO_DATASOURCE_PASSWORD="$pgpass" nohup "$java" -Xms128m -Xmx512m -XX:+UseSerialGC \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
    -Dapicurio.datasource.url="jdbc:postgresql://${POSTGRES_HOST:-127.0.0.1}:${POSTGRES_PORT:-5432}/$REGISTRY_DB" \
    -Dapicurio.datasource.username="${POSTGRES_USER:-postgres}" \
    -Dquarkus.log.level=WARN -Dquarkus.log.category.\"io.apicurio\".level=WARN -Dquarkus.http.access-log.enabled=false \
    -jar infra/apicurio/target/app/quarkus-run.jar > "$STATE_DIR/registry/registry.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if curl -fsS "$url/subjects" >/dev/null 2>&1; then log "registry ready"; return 0; fi
    pid_alive "$pidfile" || break
    sleep 1
  done
  log "the registry did not start; last lines of its log:"; tail -30 "$STATE_DIR/registry/registry.log" >&2; return 1
}

write_env() {
  cat > "$STATE_DIR/env" <<ENV
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7
export POSTGRES_HOST=${POSTGRES_HOST:-127.0.0.1}
export POSTGRES_PORT=${POSTGRES_PORT:-5432}
export POSTGRES_USER=${POSTGRES_USER:-postgres}
export REDIS_HOST=${REDIS_HOST:-127.0.0.1}
export REDIS_PORT=${REDIS_PORT:-6379}
ENV
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then echo "export POSTGRES_PASSWORD=\${POSTGRES_PASSWORD:-$POSTGRES_PASSWORD}" >> "$STATE_DIR/env"; fi
}

stop_pid() {
  local name=$1 pidfile=$2 pid
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
  pid=$(cat "$pidfile")
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }; sleep 0.5; done
  log "$name did not stop in 30 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  up)
    fresh=0; [ "${2:-}" = "--fresh" ] && fresh=1
    ensure_psql_client
    ensure_postgres
    ensure_redis
    kafka_up "$fresh"
    registry_up "$fresh"
    write_env
    log "infrastructure ready; environment in $STATE_DIR/env"
    ;;
  down)
    stop_pid registry "$STATE_DIR/registry/registry.pid"
    stop_pid Kafka "$STATE_DIR/kafka/broker.pid"
    while read -r started; do
      case "$started" in
        pg:*) log "stopping PostgreSQL ${started#pg:} (started by infra.sh)"; pg_ctlcluster --skip-systemctl-redirect "${started#pg:}" main stop >&2 || true ;;
        redis:*) log "stopping Redis (started by infra.sh)"; redis-cli -p "${started#redis:}" shutdown nosave >/dev/null 2>&1 || true ;;
      esac
    done < "$STATE_DIR/started-services"
    : > "$STATE_DIR/started-services"
    ;;
  status)
    pid_alive "$STATE_DIR/kafka/broker.pid" && echo "kafka: running (pid $(cat "$STATE_DIR/kafka/broker.pid"), port $KAFKA_PORT)" || echo "kafka: stopped"
    pid_alive "$STATE_DIR/registry/registry.pid" && echo "registry: running (pid $(cat "$STATE_DIR/registry/registry.pid"), port $REGISTRY_PORT)" || echo "registry: stopped"
    pg_ready && echo "postgres: reachable" || echo "postgres: unreachable"
    redis_ready && echo "redis: reachable" || echo "redis: unreachable"
    ;;
  env) write_env; cat "$STATE_DIR/env" ;;
  *) echo "usage: $0 up [--fresh] | down | status | env" >&2; exit 2 ;;
esac
