#!/usr/bin/env bash
# A throwaway Milvus for tests: Milvus Lite 3.2.2 (PyPI; a pure-Python server speaking Milvus's
# gRPC protocol) in its own venv, on 127.0.0.1, with a fresh data directory per start.
#
#   scripts/milvus.sh install   # the venv with milvus-lite 3.2.2 + pymilvus 3.0.2 (its server
#                               # imports pymilvus but does not declare it); prints the milvus-lite path
#   scripts/milvus.sh start     # installs if missing, starts a fresh server, prints http://127.0.0.1:19539
#   scripts/milvus.sh stop
#   scripts/milvus.sh status | uri | bin
#
# Env: LLS_MILVUS_VENV (default ~/.cache/llama-stack-rs/milvus-venv), LLS_MILVUS_DIR (default
# /tmp/lls-milvus: data, pid file, log), LLS_MILVUS_PORT (default 19539).
# Only the URI goes to stdout, so `export LLS_TEST_MILVUS_URI=$(scripts/milvus.sh start)` works.
set -euo pipefail

VENV=${LLS_MILVUS_VENV:-$HOME/.cache/llama-stack-rs/milvus-venv}
MV_DIR=${LLS_MILVUS_DIR:-/tmp/lls-milvus}
MV_PORT=${LLS_MILVUS_PORT:-19539}
BIN="$VENV/bin/milvus-lite"
PID_FILE="$MV_DIR/milvus.pid"
URI="http://127.0.0.1:${MV_PORT}"

log() { echo "milvus.sh: $*" >&2; }

install_if_missing() {
    if [ -x "$BIN" ] && "$VENV/bin/python" -c 'import milvus_lite, pymilvus' 2>/dev/null; then return; fi
    local python
    python="$(command -v python3 || true)"
    if [ -z "$python" ]; then
        log "python3 is missing (apt-get install -y python3 python3-venv)"
        exit 1
    fi
    log "installing milvus-lite 3.2.2 and pymilvus 3.0.2 into $VENV"
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "milvus-lite==3.2.2" "pymilvus==3.0.2" >&2
}

pid() { [ -f "$PID_FILE" ] && cat "$PID_FILE"; }

is_running() {
    local p
    p="$(pid)" || return 1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$MV_PORT") 2>/dev/null; }

start() {
    install_if_missing
    if is_running; then
        echo "$URI"
        return
    fi
    if listening; then
        log "something else listens on 127.0.0.1:$MV_PORT (set LLS_MILVUS_PORT)"
        exit 1
    fi
    # A fresh data directory each time: Milvus Lite holds a LOCK file in it.
    rm -rf "$MV_DIR/data"
    mkdir -p "$MV_DIR/data"
    log "starting on 127.0.0.1:$MV_PORT (log: $MV_DIR/milvus.log)"
    nohup "$BIN" server --data-dir "$MV_DIR/data" --host 127.0.0.1 --port "$MV_PORT" \
        >"$MV_DIR/milvus.log" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    for _ in $(seq 300); do
        if listening; then
            echo "$URI"
            return
        fi
        if ! is_running; then break; fi
        sleep 0.1
    done
    log "start failed; last lines of $MV_DIR/milvus.log:"
    tail -n 20 "$MV_DIR/milvus.log" >&2 || true
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
    kill "$p"
    for _ in $(seq 100); do
        kill -0 "$p" 2>/dev/null || { rm -f "$PID_FILE"; return; }
        sleep 0.1
    done
    log "no exit 10 s after SIGTERM; sending SIGKILL"
    kill -9 "$p" 2>/dev/null || true
    rm -f "$PID_FILE"
}

case "${1:-}" in
    install) install_if_missing; echo "$BIN" ;;
    start) start ;;
    stop) stop ;;
    status) if is_running; then echo "running: $URI (pid $(pid))"; else echo "stopped"; exit 3; fi ;;
    uri) echo "$URI" ;;
    bin) echo "$BIN" ;;
    *) echo "usage: $0 install|start|stop|status|uri|bin" >&2; exit 2 ;;
esac
