#!/usr/bin/env bash
# Checks that the test kit's FMS guardrails mock (`lls-mock-fms`) speaks the orchestrator API the
# way TrustyAI's own Python provider expects: installs llama-stack 0.3.5 and
# llama-stack-provider-trustyai-fms 0.3.2 from PyPI into a venv of their own, starts the mock,
# and runs tests/compat/trustyai_fms_against_mock.py. Not part of scripts/test.sh (it installs
# llama-stack, ~1 min with a warm pip cache); run it after changing the mock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_FMS_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/fms-compat-venv}"
PY="$(command -v python3.13 || ls -d "$HOME"/.pyenv/versions/3.13*/bin/python 2>/dev/null | head -n 1)"
[ -n "$PY" ] || { echo "fms-mock-compat.sh: needs Python 3.13 (llama-stack 0.3.5 wants >= 3.12)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "llama-stack==0.3.5" "llama-stack-provider-trustyai-fms==0.3.2"
cargo build -q -p lls-testkit --bin lls-mock-fms
LOG="$(mktemp)"
"$CARGO_TARGET_DIR/debug/lls-mock-fms" > "$LOG" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; rm -f "$LOG"' EXIT
URL=""
for _ in $(seq 100); do
    URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$LOG")"
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "fms-mock-compat.sh: lls-mock-fms did not start:" >&2; cat "$LOG" >&2; exit 1; }
"$VENV/bin/python" tests/compat/trustyai_fms_against_mock.py "$URL"
