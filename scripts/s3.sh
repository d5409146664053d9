#!/usr/bin/env bash
# A throwaway S3-compatible server for tests: moto's standalone server (PyPI `moto[server]`,
# pinned below) in its own venv, on 127.0.0.1, in memory (every start is empty).
#
#   scripts/s3.sh install   # the venv with moto[server]; prints the moto_server path
#   scripts/s3.sh start     # installs if missing, starts a server, prints http://127.0.0.1:19000
#   scripts/s3.sh stop
#   scripts/s3.sh status | url | bin
#
# moto takes any access key and secret (tests use AWS_ACCESS_KEY_ID=testing, AWS_SECRET_ACCESS_KEY=testing).
# Env: LLS_S3_VENV (default ~/.cache/llama-stack-rs/s3-venv), LLS_S3_DIR (default /tmp/lls-s3:
# pid file, log), LLS_S3_PORT (default 19000).
# Only the URL goes to stdout, so `export LLS_TEST_S3_ENDPOINT=$(scripts/s3.sh start)` works.
set -euo pipefail

MOTO_VERSION=5.2.6
VENV=${LLS_S3_VENV:-$HOME/.cache/llama-stack-rs/s3-venv}
S3_DIR=${LLS_S3_DIR:-/tmp/lls-s3}
S3_PORT=${LLS_S3_PORT:-19000}
BIN="$VENV/bin/moto_server"
PID_FILE="$S3_DIR/moto.pid"
URL="http://127.0.0.1:${S3_PORT}"

log() { echo "s3.sh: $*" >&2; }

install_if_missing() {
    if [ -x "$BIN" ] && "$VENV/bin/python" -c 'import moto, flask' 2>/dev/null; then return; fi
    local python
    python="$(command -v python3 || true)"
    if [ -z "$python" ]; then
        log "python3 is missing (apt-get install -y python3 python3-venv)"
        exit 1
    fi
    log "installing moto[server]==$MOTO_VERSION into $VENV"
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
}

pid() { [ -f "$PID_FILE" ] && cat "$PID_FILE"; }

is_running() {
    local p
    p="$(pid)" || return 1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# Answers HTTP at all (moto answers `GET /` with its bucket list).
answering() { (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; }

start() {
    install_if_missing
    if is_running; then
        echo "$URL"
        return
    fi
    if answering; then
        log "something else listens on 127.0.0.1:$S3_PORT (set LLS_S3_PORT)"
        exit 1
    fi
    mkdir -p "$S3_DIR"
    log "starting moto on 127.0.0.1:$S3_PORT (log: $S3_DIR/moto.log)"
    nohup "$BIN" -H 127.0.0.1 -p "$S3_PORT" >"$S3_DIR/moto.log" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    for _ in $(seq 300); do
        if answering; then
            echo "$URL"
            return
        fi
        if ! is_running; then break; fi
        sleep 0.1
    done
    log "start failed; last lines of $S3_DIR/moto.log:"
    tail -n 20 "$S3_DIR/moto.log" >&2 || true
    stop >/dev/null 2>&1 || true
    exit 1
}

stop() {
    if ! is_running; then
        log "not running"
        rm -f "$PID_FILE"
        return
    fi
    local p
    p="$(pid)"
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null || true
    rm -f "$PID_FILE"
}

case "${1:-}" in
    install) install_if_missing; echo "$BIN" ;;
    start) start ;;
    stop) stop ;;
    status) if is_running; then echo "running: $URL"; else echo "stopped"; exit 3; fi ;;
    url) echo "$URL" ;;
    bin) echo "$BIN" ;;
    *) echo "usage: $0 install|start|stop|status|url|bin" >&2; exit 2 ;;
esac
