#!/usr/bin/env bash
# Checks the test kit's web search mock (`lls-mock-websearch`) against the official Tavily client
# (tavily-python, from PyPI into a venv of its own) and 0.3.5's own result cleaning, running
# tests/compat/websearch_against_mock.py. Not part of scripts/test.sh (it installs from PyPI);
# run it after changing the mock or the providers' result texts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/mockcompat.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_WEBSEARCH_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/websearch-compat-venv}"
KEY="tvly-compat-key"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "tavily-python==0.8.5" "httpx"
cargo build -q -p lls-testkit --bin lls-mock-websearch
LOG="$(mktemp)"
trap 'kill ${MOCK:-} 2>/dev/null || true; rm -f "$LOG"' EXIT
LLS_BIN_DIR="$CARGO_TARGET_DIR/debug" start_mock lls-mock-websearch "$LOG" --api-key "$KEY"
"$VENV/bin/python" tests/compat/websearch_against_mock.py "$MOCK_URL" "$KEY"
