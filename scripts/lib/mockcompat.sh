# What the *-mock-compat.sh scripts share (sourced, not run): a venv holding pinned packages,
# and a test kit mock binary started on a free port with its URL read from its log.

# pinned_venv PYTHON VENV PACKAGE==VERSION...: makes VENV with PYTHON when it is missing and
# installs the pins, skipping pip when every pinned version is already there (a warm venv costs
# nothing).
pinned_venv() {
    local python="$1" venv="$2"
    shift 2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" - "$@" <<'PY' 2>/dev/null || "$venv/bin/pip" install -q --disable-pip-version-check "$@"
import importlib.metadata as m, sys
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))
PY
}

# start_mock NAME LOG ARG...: starts the test kit binary NAME (built first when $LLS_BIN_DIR or
# the debug target dir lacks it) with ARGs, its output in LOG, and waits up to 10 s for its
# "listening on URL" line. Sets MOCK (its pid; the caller's EXIT trap kills it) and MOCK_URL.
start_mock() {
    local name="$1" log="$2"
    shift 2
    local bin="${LLS_BIN_DIR:-$CARGO_TARGET_DIR/debug}/$name"
    [ -x "$bin" ] || cargo build -q -p lls-testkit --bin "$name"
    "$bin" "$@" > "$log" 2>&1 &
    MOCK=$!
    MOCK_URL=""
    for _ in $(seq 100); do
        MOCK_URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log")"
        [ -n "$MOCK_URL" ] && return 0
        sleep 0.1
    done
    echo "$name did not start:" >&2
    cat "$log" >&2
    return 1
}
