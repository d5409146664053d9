#!/usr/bin/env bash
# Checks the test kit's watsonx.ai + IBM Cloud IAM mock (`lls-mock-watsonx`) against IBM's official
# Python SDK (ibm-watsonx-ai, from PyPI into a venv of its own, kept between runs): model specs,
# chat (tools too), chat_stream, text generation (and its stream), embeddings, the SDK's own token
# refresh (the mock's tokens live 2 s) and watsonx's error bodies, running
# tests/compat/watsonx_against_mock.py. scripts/test.sh runs it (the "watsonx compat" step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_WATSONX_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/watsonx-compat-venv}"
SDK="ibm-watsonx-ai==1.8.1"
KEY="wx-compat-key"
PROJECT="wx-compat-project"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# pip is skipped when the pinned SDK is already there (a warm venv costs nothing).
"$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('ibm-watsonx-ai') != '${SDK#*==}')" 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check "$SDK"
BIN="${LLS_BIN_DIR:-$CARGO_TARGET_DIR/debug}/lls-mock-watsonx"
[ -x "$BIN" ] || cargo build -q -p lls-testkit --bin lls-mock-watsonx
LOG="$(mktemp)"
"$BIN" --api-key "$KEY" --project-id "$PROJECT" --token-ttl 2 > "$LOG" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; rm -f "$LOG"' EXIT
URL=""
for _ in $(seq 100); do
    URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$LOG")"
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "watsonx-mock-compat.sh: lls-mock-watsonx did not start:" >&2; cat "$LOG" >&2; exit 1; }
"$VENV/bin/python" tests/compat/watsonx_against_mock.py "$URL" "$KEY" "$PROJECT"
