#!/usr/bin/env bash
# Checks the test kit's Vertex AI + Google OAuth mock (`lls-mock-vertex`) against Google's own
# auth library and the openai client (google-auth, requests and openai from PyPI into a venv of
# its own, kept between runs): the service-account JWT bearer grant, the authorized-user refresh
# grant, the metadata server (google.auth.compute_engine), token expiry (the mock's tokens live
# 3 s), then chat and streams with those tokens on the OpenAI-compatible path and Google's error
# bodies as the openai client reads them, running tests/compat/vertex_against_mock.py.
# scripts/test.sh runs it (the "vertex compat" step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/mockcompat.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_VERTEX_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/vertex-compat-venv}"
# Versions contemporary with llama-stack 0.3.5 (openai as tests/e2e/requirements.txt pins it).
PACKAGES=("google-auth==2.43.0" "requests==2.32.5" "openai==2.14.0")
pinned_venv python3 "$VENV" "${PACKAGES[@]}"
WORK="$(mktemp -d)"
trap 'kill ${MOCK:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT
start_mock lls-mock-vertex "$WORK/log" --project vertex-compat --location us-central1 --token-ttl-s 3 \
    --key-file "$WORK/key.json" --user-file "$WORK/user.json"
"$VENV/bin/python" tests/compat/vertex_against_mock.py "$MOCK_URL" "$WORK/key.json" "$WORK/user.json"
