#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests (trust auth, fsync off, 127.0.0.1 only).
#
#   scripts/postgres.sh start   # installs postgresql-15 if missing, starts a fresh cluster,
#                               # prints postgres://postgres@127.0.0.1:54329/llamastack
#   scripts/postgres.sh stop
#   scripts/postgres.sh status | url
#
# Env: LLS_PG_DIR (default /tmp/lls-pg), LLS_PG_PORT (default 54329).
# Only the URL goes to stdout, so `export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)` works.
set -euo pipefail

PG_DIR=${LLS_PG_DIR:-/tmp/lls-pg}
PG_PORT=${LLS_PG_PORT:-54329}
PG_DB=llamastack
PG_BIN=/usr/lib/postgresql/15/bin
DATA="$PG_DIR/data"
URL="postgres://postgres@127.0.0.1:${PG_PORT}/${PG_DB}"

log() { echo "postgres.sh: $*" >&2; }

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_if_missing() {
    if [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/initdb" ]; then return; fi
    if [ "$(id -u)" != 0 ]; then
        log "PostgreSQL 15 is missing and installing it needs root: apt-get install -y postgresql-15"
        exit 1
    fi
    log "installing postgresql-15"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

psql_admin() {
    "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

ensure_database() {
    if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE $PG_DB" >&2
    fi
}

start() {
    install_if_missing
    if is_running; then
        ensure_database
        echo "$URL"
        return
    fi
    # A stopped cluster (or the remains of one) is replaced by a fresh one.
    rm -rf "$DATA"
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_DIR" --shell /bin/false postgres
        chown postgres:postgres "$PG_DIR"
    fi
    chmod 755 "$PG_DIR"
    log "initdb in $DATA"
    as_owner "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; exit 1; }
    log "starting on 127.0.0.1:$PG_PORT"
    if ! as_owner "$PG_BIN/pg_ctl" -D "$DATA" -l "$PG_DIR/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2; then
        log "start failed; last lines of $PG_DIR/postgres.log:"
        tail -n 20 "$PG_DIR/postgres.log" >&2 || true
        exit 1
    fi
    ensure_database
    echo "$URL"
}

stop() {
    if is_running; then
        as_owner "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
        log "not running"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) if is_running; then echo "running: $URL"; else echo "stopped"; exit 3; fi ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
