#!/usr/bin/env bash
# A throwaway Milvus for tests: Milvus Lite 3.2.2 (PyPI; a pure-Python server speaking Milvus's
# gRPC protocol) in its own venv, on 127.0.0.1, with a fresh data directory per start.
#
#   scripts/milvus.sh install   # the venv with milvus-lite 3.2.2 + pymilvus 3.0.2 (its server
#                               # imports pymilvus but does not declare it); prints the milvus-lite path
#   scripts/milvus.sh start     # installs if missing, starts a fresh server, prints http://127.0.0.1:19539
#   scripts/milvus.sh stop
#   scripts/milvus.sh status | uri | bin
#
# Env: LLS_MILVUS_VENV (default ~/.cache/llama-stack-rs/milvus-venv), LLS_MILVUS_DIR (default
# /tmp/lls-milvus: data, pid file, log), LLS_MILVUS_PORT (default 19539).
# Only the URI goes to stdout, so `export LLS_TEST_MILVUS_URI=$(scripts/milvus.sh start)` works.
set -euo pipefail

VENV=${LLS_MILVUS_VENV:-$HOME/.cache/llama-stack-rs/milvus-venv}
SVC_DIR=${LLS_MILVUS_DIR:-/tmp/lls-milvus}
SVC_PORT=${LLS_MILVUS_PORT:-19539}
SVC_PORT_ENV=LLS_MILVUS_PORT
SVC_NAME=milvus.sh
BIN="$VENV/bin/milvus-lite"
SVC_ADDR="http://127.0.0.1:${SVC_PORT}"
SVC_ADDR_COMMAND=uri
SVC_PACKAGES="milvus-lite==3.2.2 pymilvus==3.0.2"
SVC_IMPORTS="milvus_lite, pymilvus"
SVC_LOG=milvus.log

# A fresh data directory each time: Milvus Lite holds a LOCK file in it.
prepare() {
    rm -rf "$SVC_DIR/data"
    mkdir -p "$SVC_DIR/data"
}

launch() { exec "$BIN" server --data-dir "$SVC_DIR/data" --host 127.0.0.1 --port "$SVC_PORT"; }

# shellcheck source=scripts/lib/pyservice.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/pyservice.sh"
svc_main "$@"
