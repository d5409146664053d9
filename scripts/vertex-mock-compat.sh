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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
VENV="${LLS_VERTEX_COMPAT_VENV:-$HOME/.cache/llama-stack-rs/vertex-compat-venv}"
# Versions contemporary with llama-stack 0.3.5 (openai as tests/e2e/requirements.txt pins it).
PACKAGES=("google-auth==2.43.0" "requests==2.32.5" "openai==2.14.0")
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# pip is skipped when the pinned packages are already there (a warm venv costs nothing).
"$VENV/bin/python" - "${PACKAGES[@]}" <<'PY' 2>/dev/null || "$VENV/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}"
import importlib.metadata as m, sys
sys.exit(any(m.version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))
PY
BIN="${LLS_BIN_DIR:-$CARGO_TARGET_DIR/debug}/lls-mock-vertex"
[ -x "$BIN" ] || cargo build -q -p lls-testkit --bin lls-mock-vertex
WORK="$(mktemp -d)"
"$BIN" --project vertex-compat --location us-central1 --token-ttl-s 3 \
    --key-file "$WORK/key.json" --user-file "$WORK/user.json" > "$WORK/log" 2>&1 &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL=""
for _ in $(seq 100); do
    URL="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$WORK/log")"
    [ -n "$URL" ] && break
    sleep 0.1
done
[ -n "$URL" ] || { echo "vertex-mock-compat.sh: lls-mock-vertex did not start:" >&2; cat "$WORK/log" >&2; exit 1; }
"$VENV/bin/python" tests/compat/vertex_against_mock.py "$URL" "$WORK/key.json" "$WORK/user.json"
