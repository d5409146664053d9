# Shared by the scripts that run a throwaway Python test server from its own venv
# (scripts/milvus.sh, scripts/s3.sh): install, start (waiting until it listens), stop, status.
# Source it after setting:
#   SVC_NAME      the script's name, for messages ("milvus.sh")
#   VENV          the venv; BIN the server executable in it
#   SVC_DIR       pid file, log (and whatever the server keeps)
#   SVC_PORT      the port on 127.0.0.1; SVC_PORT_ENV the variable that moves it
#   SVC_ADDR      what `start` prints (the server's URL)
#   SVC_PACKAGES  pip requirements; SVC_IMPORTS the modules a working install imports
#   SVC_LOG       the log file's name in SVC_DIR
# and defining `launch` (runs the server in the foreground; its output goes to the log) and
# optionally `prepare` (run before each start). Then call `svc_main "$@"`.

PID_FILE="$SVC_DIR/${SVC_LOG%.log}.pid"

log() { echo "$SVC_NAME: $*" >&2; }

install_if_missing() {
    if [ -x "$BIN" ] && "$VENV/bin/python" -c "import $SVC_IMPORTS" 2>/dev/null; then return; fi
    local python
    python="$(command -v python3 || true)"
    if [ -z "$python" ]; then
        log "python3 is missing (apt-get install -y python3 python3-venv)"
        exit 1
    fi
    log "installing $SVC_PACKAGES into $VENV"
    [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV" >&2
    # shellcheck disable=SC2086 # several requirements
    "$VENV/bin/pip" install -q --disable-pip-version-check $SVC_PACKAGES >&2
}

pid() { [ -f "$PID_FILE" ] && cat "$PID_FILE"; }

is_running() {
    local p
    p="$(pid)" || return 1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$SVC_PORT") 2>/dev/null; }

start() {
    install_if_missing
    if is_running; then
        echo "$SVC_ADDR"
        return
    fi
    if listening; then
        log "something else listens on 127.0.0.1:$SVC_PORT (set $SVC_PORT_ENV)"
        exit 1
    fi
    mkdir -p "$SVC_DIR"
    if declare -F prepare >/dev/null; then prepare; fi
    log "starting on 127.0.0.1:$SVC_PORT (log: $SVC_DIR/$SVC_LOG)"
    launch >"$SVC_DIR/$SVC_LOG" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    for _ in $(seq 300); do
        if listening; then
            echo "$SVC_ADDR"
            return
        fi
        if ! is_running; then break; fi
        sleep 0.1
    done
    log "start failed; last lines of $SVC_DIR/$SVC_LOG:"
    tail -n 20 "$SVC_DIR/$SVC_LOG" >&2 || true
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
    for _ in $(seq 100); do
        kill -0 "$p" 2>/dev/null || { rm -f "$PID_FILE"; return; }
        sleep 0.1
    done
    log "no exit 10 s after SIGTERM; sending SIGKILL"
    kill -9 "$p" 2>/dev/null || true
    rm -f "$PID_FILE"
}

# install | start | stop | status | bin, and `addr_command` (uri, url) printing SVC_ADDR.
svc_main() {
    case "${1:-}" in
        install) install_if_missing; echo "$BIN" ;;
        start) start ;;
        stop) stop ;;
        status) if is_running; then echo "running: $SVC_ADDR (pid $(pid))"; else echo "stopped"; exit 3; fi ;;
        "$SVC_ADDR_COMMAND") echo "$SVC_ADDR" ;;
        bin) echo "$BIN" ;;
        *) echo "usage: $0 install|start|stop|status|$SVC_ADDR_COMMAND|bin" >&2; exit 2 ;;
    esac
}
