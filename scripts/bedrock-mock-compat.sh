#!/usr/bin/env bash
# Checks the test kit's Amazon Bedrock mock (`lls-mock-bedrock`) against AWS's official Python SDK
# (boto3, from PyPI into a venv of its own, kept between runs): bedrock-runtime's converse (text,
# tools), converse_stream (botocore's own event-stream decoder), invoke_model for Titan and Cohere
# embeddings, bedrock's list_foundation_models, botocore's SigV4 accepted and a wrong secret, an
# unknown key and throttling refused with AWS's error codes, running
# tests/compat/bedrock_against_mock.py. scripts/test.sh runs it (the "bedrock compat" step).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/mockcompat.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_BEDROCK_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/bedrock-compat-venv}"
SDK="boto3==1.44.18"
KEY_ID="AKIDBEDROCKCOMPAT001"
SECRET="bedrock-compat-secret"
pinned_venv python3 "$VENV" "$SDK"
LOG="$(mktemp)"
trap 'kill ${MOCK:-} 2>/dev/null || true; rm -f "$LOG"' EXIT
start_mock lls-mock-bedrock "$LOG" --access-key-id "$KEY_ID" --secret-access-key "$SECRET" --region us-west-2
"$VENV/bin/python" tests/compat/bedrock_against_mock.py "$MOCK_URL" "$KEY_ID" "$SECRET"
