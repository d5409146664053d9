#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for tests (trust auth, fsync off, 127.0.0.1 only).
#
#   scripts/postgres.sh start   # installs postgresql-15 and pgvector if missing, starts a fresh cluster,
#                               # prints postgres://postgres@127.0.0.1:54329/llamastack
#   scripts/postgres.sh stop
#   scripts/postgres.sh status | url
#
# Env: LLS_PG_DIR (default /tmp/lls-pg), LLS_PG_PORT (default 54329), LLS_PG_SHARED_BUFFERS
# (default 512MB: room for a 100k-chunk store's HNSW index, as a vector database is sized;
# PostgreSQL's own default, 128MB, makes a third of an HNSW walk's page visits misses).
# Only the URL goes to stdout, so `export LLS_TEST_POSTGRES_URL=$(scripts/postgres.sh start)` works.
set -euo pipefail

PG_DIR=${LLS_PG_DIR:-/tmp/lls-pg}
PG_PORT=${LLS_PG_PORT:-54329}
PG_SHARED_BUFFERS=${LLS_PG_SHARED_BUFFERS:-512MB}
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

# pgvector (remote::pgvector and its tests): bookworm packages no pgvector, so its Debian source
# package (trixie's, 0.8.0) is built with PGXS against postgresql-server-dev-15. The system's apt
# sources are untouched (a private source list); OPTFLAGS="" keeps the .so portable (no
# -march=native). About 20 s.
install_pgvector_if_missing() {
    if [ -f /usr/share/postgresql/15/extension/vector.control ]; then return; fi
    if [ "$(id -u)" != 0 ]; then
        log "pgvector is missing and building it needs root (see install_pgvector_if_missing in $0)"
        exit 1
    fi
    log "installing pgvector (PGXS build of Debian's source package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-server-dev-15 build-essential >&2 \
        || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-server-dev-15 build-essential >&2; }
    local work mirror aptopt
    work="$(mktemp -d)"
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    mirror="$(grep -rhE '^[[:space:]]*(deb|URIs:)[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE 'https?://[^ ]+/debian/?' | head -1 || true)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} trixie main" > "$work/src.list"
    aptopt=(-o "Dir::Etc::SourceList=$work/src.list" -o Dir::Etc::SourceParts=/nonexistent
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
    apt-get "${aptopt[@]}" update -qq >&2
    (cd "$work" && apt-get "${aptopt[@]}" source --download-only pgvector >&2)
    tar -xzf "$work"/pgvector_*.orig.tar.gz -C "$work"
    make -C "$work"/pgvector-*/ PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" -j"$(nproc)" >"$work/make.log" 2>&1 \
        && make -C "$work"/pgvector-*/ PG_CONFIG="$PG_BIN/pg_config" install >>"$work/make.log" 2>&1 \
        || { tail -n 20 "$work/make.log" >&2; exit 1; }
    rm -rf "$work"
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
    install_pgvector_if_missing
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
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=$PG_SHARED_BUFFERS" \
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
