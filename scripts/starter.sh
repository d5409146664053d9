#!/usr/bin/env bash
# Builds and runs the starter distribution on its embedded defaults: first installs what the build
# and the default providers need (cmake + OpenBLAS for inline::faiss, the all-MiniLM-L6-v2 weights
# for inline::sentence-transformers; see scripts/install-deps.sh --runtime), then
# `cargo run --release` of the `llama-stack` binary. Extra arguments go to `llama-stack run`.
#
#   scripts/starter.sh                       # http://localhost:8321, state in ~/.llama/distributions/starter
#   scripts/starter.sh --port 8400 --env VLLM_URL=http://localhost:8000/v1
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
bash "$ROOT/scripts/install-deps.sh" --runtime
cd "$ROOT"
exec cargo run --release -p lls-distribution-starter --bin llama-stack -- run "$@"
