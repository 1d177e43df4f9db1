#!/usr/bin/env bash
# Throw-away PostgreSQL 15, MariaDB and MinIO on loopback for the module integration tests.
#
#   tests/integration/services.sh start   # start all three, write $IT_DIR/env
#   tests/integration/services.sh stop    # stop them and delete $IT_DIR
#   tests/integration/services.sh status
#
# IT_DIR defaults to /tmp/onprem-mlflow-it (env ONPREM_MLFLOW_IT_DIR). The pytest fixtures in
# tests/integration/conftest.py read $IT_DIR/env. MinIO comes from $MINIO_BIN, else from the
# build cache ~/.cache/onprem-mlflow/minio/<version>/minio; when none is found `start` still
# starts the databases, records the reason in the env file and exits 1 (the S3 tests then fail).
set -euo pipefail

IT_DIR="${ONPREM_MLFLOW_IT_DIR:-/tmp/onprem-mlflow-it}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
ENV_FILE="$IT_DIR/env"

log() { printf 'services.sh: %s\n' "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

secret() {
  python3 -c 'import secrets, string; a=string.ascii_letters+string.digits; print("".join(secrets.choice(a) for _ in range(24)))'
}

# Run a command as a service user when we are root (servers refuse to run as root).
as_user() {
  local user="$1"; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

wait_for() {  # wait_for <seconds> <description> <command...>
  local limit="$1" what="$2"; shift 2
  local i
  for ((i = 0; i < limit * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  log "timed out after ${limit}s waiting for $what"
  return 1
}

start_postgresql() {
  local dir="$IT_DIR/pg" port password
  port="$(free_port)"
  password="$(secret)"
  mkdir -p "$dir/sock"
  printf '%s\n' "$password" >"$dir/pwfile"
  chmod 0600 "$dir/pwfile"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
  as_user postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$dir/pwfile"
  as_user postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c password_encryption=scram-sha-256 -c fsync=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  {
    echo "PG_HOST=127.0.0.1"
    echo "PG_PORT=$port"
    echo "PG_USER=postgres"
    echo "PG_PASSWORD=$password"
    echo "PG_SOCKET_DIR=$dir/sock"
  } >>"$ENV_FILE"
  log "PostgreSQL on 127.0.0.1:$port"
}

start_mariadb() {
  local dir="$IT_DIR/mariadb" port password
  port="$(free_port)"
  password="$(secret)"
  mkdir -p "$dir/data" "$dir/run"
  if [ "$(id -u)" -eq 0 ]; then chown -R mysql: "$dir"; fi
  mariadb-install-db --no-defaults --datadir="$dir/data" --user=mysql \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  local args=(--no-defaults --datadir="$dir/data" --socket="$dir/run/mysqld.sock" --port="$port"
    --bind-address=127.0.0.1 --pid-file="$dir/run/mysqld.pid" --log-error="$dir/error.log"
    --character-set-server=utf8mb4 --innodb-buffer-pool-size=32M --innodb-log-file-size=16M)
  if [ "$(id -u)" -eq 0 ]; then args+=(--user=mysql); fi
  nohup mariadbd "${args[@]}" >/dev/null 2>&1 &
  wait_for 60 MariaDB test -S "$dir/run/mysqld.sock" || { cat "$dir/error.log" >&2; return 1; }
  wait_for 60 MariaDB mariadb --no-defaults --socket="$dir/run/mysqld.sock" -uroot -e 'SELECT 1' \
    || { cat "$dir/error.log" >&2; return 1; }
  # root keeps unix_socket auth; tests log in over TCP as `admin` with a password.
  mariadb --no-defaults --socket="$dir/run/mysqld.sock" -uroot <<SQL
CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER 'admin'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'localhost' WITH GRANT OPTION;
SQL
  {
    echo "MYSQL_HOST=127.0.0.1"
    echo "MYSQL_PORT=$port"
    echo "MYSQL_USER=admin"
    echo "MYSQL_PASSWORD=$password"
    echo "MYSQL_SOCKET=$dir/run/mysqld.sock"
  } >>"$ENV_FILE"
  log "MariaDB on 127.0.0.1:$port"
}

find_minio() {
  if [ -n "${MINIO_BIN:-}" ]; then
    if [ -x "$MINIO_BIN" ]; then echo "$MINIO_BIN"; return 0; fi
    echo "MINIO_BIN=$MINIO_BIN is not an executable file"
    return 1
  fi
  local candidate
  for candidate in "$HOME"/.cache/onprem-mlflow/minio/*/minio; do
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  echo "no MinIO binary: set MINIO_BIN or build it into ~/.cache/onprem-mlflow/minio/<version>/minio"
  return 1
}

start_minio() {
  local dir="$IT_DIR/minio" port console user password bin
  if ! bin="$(find_minio)"; then
    log "$bin"
    echo "MINIO_ERROR=\"$bin\"" >>"$ENV_FILE"
    return 1
  fi
  port="$(free_port)"
  console="$(free_port)"
  user="it$(secret | cut -c1-10)"
  password="$(secret)"
  mkdir -p "$dir/data"
  MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$password" MINIO_BROWSER=off \
    nohup "$bin" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" \
    "$dir/data" >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  wait_for 60 MinIO python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/minio/health/live', timeout=2)" \
    || { cat "$dir/server.log" >&2; return 1; }
  {
    echo "S3_ENDPOINT=http://127.0.0.1:$port"
    echo "S3_ACCESS_KEY=$user"
    echo "S3_SECRET_KEY=$password"
    echo "MINIO_BIN_USED=$bin"
  } >>"$ENV_FILE"
  log "MinIO on 127.0.0.1:$port ($bin)"
}

stop_all() {
  if [ -d "$IT_DIR/pg/data" ]; then
    as_user postgres "$PG_BIN/pg_ctl" -D "$IT_DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  local pid
  if [ -f "$IT_DIR/mariadb/run/mysqld.pid" ]; then
    pid="$(cat "$IT_DIR/mariadb/run/mysqld.pid")"
    kill "$pid" 2>/dev/null || true
    wait_for 30 "MariaDB to stop" sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  if [ -f "$IT_DIR/minio/pid" ]; then
    pid="$(cat "$IT_DIR/minio/pid")"
    kill "$pid" 2>/dev/null || true
    wait_for 30 "MinIO to stop" sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$IT_DIR"
}

case "${1:-}" in
  start)
    if [ -f "$ENV_FILE" ]; then
      log "already started ($ENV_FILE); run '$0 stop' first"
      exit 1
    fi
    mkdir -p "$IT_DIR"
    chmod 0755 "$IT_DIR"
    : >"$ENV_FILE"
    chmod 0600 "$ENV_FILE"
    rc=0
    start_postgresql || { log "PostgreSQL failed to start"; rc=1; }
    start_mariadb || { log "MariaDB failed to start"; rc=1; }
    start_minio || { log "MinIO failed to start"; rc=1; }
    log "connection details in $ENV_FILE"
    exit "$rc"
    ;;
  stop)
    stop_all
    log "stopped"
    ;;
  status)
    if [ -f "$ENV_FILE" ]; then grep -v -e PASSWORD -e SECRET "$ENV_FILE"; else echo "not started"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
