#!/usr/bin/env bash
# Checks that the test kit's FMS guardrails mock (`lls-mock-fms`) speaks the orchestrator API the
# way TrustyAI's own Python provider expects: installs llama-stack 0.3.5 and
# llama-stack-provider-trustyai-fms 0.3.2 from PyPI into a venv of their own, starts the mock,
# and runs tests/compat/trustyai_fms_against_mock.py. Not part of scripts/test.sh (it installs
# llama-stack, ~1 min with a warm pip cache); run it after changing the mock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/mockcompat.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_FMS_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/fms-compat-venv}"
PY="$(command -v python3.13 || ls -d "$HOME"/.pyenv/versions/3.13*/bin/python 2>/dev/null | head -n 1)"
[ -n "$PY" ] || { echo "fms-mock-compat.sh: needs Python 3.13 (llama-stack 0.3.5 wants >= 3.12)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "llama-stack==0.3.5" "llama-stack-provider-trustyai-fms==0.3.2"
cargo build -q -p lls-testkit --bin lls-mock-fms
LOG="$(mktemp)"
trap 'kill ${MOCK:-} 2>/dev/null || true; rm -f "$LOG"' EXIT
LLS_BIN_DIR="$CARGO_TARGET_DIR/debug" start_mock lls-mock-fms "$LOG"
"$VENV/bin/python" tests/compat/trustyai_fms_against_mock.py "$MOCK_URL"
