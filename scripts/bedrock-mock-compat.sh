#!/usr/bin/env bash
# Checks the test kit's Amazon Bedrock mock (`lls-mock-bedrock`) against AWS's official Python SDK
# (boto3, from PyPI into a venv of its own, kept between runs): bedrock-runtime's converse (text,
# tools), converse_stream (botocore's own event-stream decoder), invoke_model for Titan and Cohere
# embeddings, bedrock's list_foundation_models, botocore's SigV4 accepted and a wrong secret, an
# unknown key and throttling refused with AWS's error codes, running
# tests/compat/bedrock_against_mock.py. scripts/test.sh runs it (the "bedrock compat" step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_BEDROCK_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/bedrock-compat-venv}"
SDK="boto3==1.44.18"
KEY_ID="AKIDBEDROCKCOMPAT001"
SECRET="bedrock-compat-secret"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# pip is skipped when the pinned SDK is already there (a warm venv costs nothing).
"$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('boto3') != '${SDK#*==}')" 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check "$SDK"
BIN="${LLS_BIN_DIR:-$CARGO_TARGET_DIR/debug}/lls-mock-bedrock"
[ -x "$BIN" ] || cargo build -q -p lls-testkit --bin lls-mock-bedrock
LOG="$(mktemp)"
"$BIN" --access-key-id "$KEY_ID" --secret-access-key "$SECRET" --region us-west-2 > "$LOG" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; rm -f "$LOG"' EXIT
URL=""
for _ in $(seq 100); do
    URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$LOG")"
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "bedrock-mock-compat.sh: lls-mock-bedrock did not start:" >&2; cat "$LOG" >&2; exit 1; }
"$VENV/bin/python" tests/compat/bedrock_against_mock.py "$URL" "$KEY_ID" "$SECRET"
