#!/usr/bin/env bash
# Runs upstream's v0.3.5 integration tests (../shared/conformance) against llama-stack-rs.
#
#   scripts/conformance.sh [NAME]      # NAME of the result dir (default: rust)
#
# Needs ../shared/conformance set up once (its setup.sh). Starts the harness's mock backend,
# our server on $PORT (default 8399) with fresh state, runs $TESTS (default: the APIs this
# build serves), compares with the upstream baseline, and stops our server. With
# LLS_TEST_POSTGRES_URL set, remote::pgvector runs beside faiss and sqlite-vec (a fresh database);
# with LLS_TEST_MILVUS_URI set, remote::milvus too.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/conformance}"
NAME="${1:-rust}"
PORT="${PORT:-8399}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
export TESTS="${TESTS:-inspect providers inference/test_openai_completion.py inference/test_openai_embeddings.py inference/test_tools_with_schemas.py files vector_io/test_openai_vector_stores.py vector_io/test_vector_io.py tool_runtime batches}"
STATE="$(mktemp -d)"
# remote::pgvector beside faiss and sqlite-vec, in a fresh database, when PostgreSQL is at hand.
if [ -n "${LLS_TEST_POSTGRES_URL:-}" ]; then
  PGVECTOR_DB="lls_conformance_$(date +%s)_$$"
  psql -X -q "$LLS_TEST_POSTGRES_URL" -c "CREATE DATABASE $PGVECTOR_DB" >/dev/null
  url="${LLS_TEST_POSTGRES_URL#*://}"; creds="${url%%@*}"; hostport="${url#*@}"; hostport="${hostport%%/*}"
  export ENABLE_PGVECTOR=1 PGVECTOR_DB PGVECTOR_USER="${creds%%:*}" PGVECTOR_HOST="${hostport%%:*}"
  export PGVECTOR_PORT="${hostport##*:}"
  [ "$creds" = "${creds#*:}" ] || export PGVECTOR_PASSWORD="${creds#*:}"
fi
# remote::milvus too when a Milvus server is at hand (scripts/milvus.sh start).
if [ -n "${LLS_TEST_MILVUS_URI:-}" ]; then
  export MILVUS_ENDPOINT="$LLS_TEST_MILVUS_URI"
fi
cargo build --release -q -p lls-distribution-starter --bin llama-stack
"$HARNESS/run-against.sh" --mock-only
HARNESS_STATE_DIR="$STATE" "$CARGO_TARGET_DIR/release/llama-stack" run "$ROOT/tests/conformance/run.yaml" --port "$PORT" \
  > "$STATE/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$STATE"' EXIT
for _ in $(seq 200); do
  curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && break
  sleep 0.05
done
"$HARNESS/run-against.sh" "http://127.0.0.1:$PORT" "$NAME"
