#!/usr/bin/env bash
# Checks the test kit's watsonx.ai + IBM Cloud IAM mock (`lls-mock-watsonx`) against IBM's official
# Python SDK (ibm-watsonx-ai, from PyPI into a venv of its own, kept between runs): model specs,
# chat (tools too), chat_stream, text generation (and its stream), embeddings, the SDK's own token
# refresh (the mock's tokens live 2 s) and watsonx's error bodies, running
# tests/compat/watsonx_against_mock.py. scripts/test.sh runs it (the "watsonx compat" step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/mockcompat.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_WATSONX_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/watsonx-compat-venv}"
SDK="ibm-watsonx-ai==1.8.1"
KEY="wx-compat-key"
PROJECT="wx-compat-project"
pinned_venv python3 "$VENV" "$SDK"
LOG="$(mktemp)"
trap 'kill ${MOCK:-} 2>/dev/null || true; rm -f "$LOG"' EXIT
start_mock lls-mock-watsonx "$LOG" --api-key "$KEY" --project-id "$PROJECT" --token-ttl 2
"$VENV/bin/python" tests/compat/watsonx_against_mock.py "$MOCK_URL" "$KEY" "$PROJECT"
