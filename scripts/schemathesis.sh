#!/usr/bin/env bash
# Fuzzes a server against its own OpenAPI document with schemathesis: every operation
# gets generated requests; a 5xx, an undocumented status or media type, or a body that does not
# match its schema is reported. Starts the e2e setup (the mock backend and the starter binary
# over tests/e2e/run.yaml with fresh SQLite state) and stops both when done.
#
#   cargo build -p lls-distribution-starter -p lls-testkit --bins
#   scripts/schemathesis.sh                       # default: 50 examples per operation
#   scripts/schemathesis.sh --max-examples 200    # extra arguments go to `schemathesis run`
#
# schemathesis lives in its own venv (${LLS_OPENAPI_VENV:-~/.cache/llama-stack-rs/openapi-venv}).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${LLS_BIN_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}/debug}"
VENV="${LLS_OPENAPI_VENV:-$HOME/.cache/llama-stack-rs/openapi-venv}"
SCHEMATHESIS_VERSION=4.32.5

if [[ ! -x "$VENV/bin/schemathesis" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d)"
MOCK_PID="" SERVER_PID=""
cleanup() {
    local rc=$?
    # Their exit status (143 after SIGTERM) is not this script's.
    [[ -z "$SERVER_PID" ]] || { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
    [[ -z "$MOCK_PID" ]] || { kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null || true; }
    echo "logs: $WORK" >&2
    exit "$rc"
}
trap cleanup EXIT

"$BIN/lls-mock-openai" --host 127.0.0.1 --port 0 >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
for _ in $(seq 100); do
    MOCK_URL="$(grep -oE 'listening on http://[^ ]+/v1' "$WORK/mock.log" | head -1 | cut -d' ' -f3 || true)"
    [[ -n "$MOCK_URL" ]] && break
    sleep 0.1
done
[[ -n "${MOCK_URL:-}" ]] || { cat "$WORK/mock.log" >&2; exit 1; }

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/state"
SQLITE_STORE_DIR="$WORK/state" RUST_LOG="${RUST_LOG:-warn}" \
    "$BIN/llama-stack" run "$ROOT/tests/e2e/run.yaml" --port "$PORT" --host 127.0.0.1 --env "MOCK_OPENAI_URL=$MOCK_URL" \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 900); do
    curl -fsS "$URL/v1/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done

cd "$WORK"  # schemathesis keeps its cache in the working directory
# Checks that judge the server, not the fuzzer's guesses about which ids exist; see the report
# for what each failure means. The hooks point inference requests at served models.
PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
    "$VENV/bin/schemathesis" run "$URL/openapi.json" \
    --url "$URL" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
    --max-examples 50 \
    --request-timeout 30 \
    --report junit --report-dir "$WORK/report" \
    "$@"
