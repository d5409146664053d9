#!/usr/bin/env bash
# A throwaway S3-compatible server for tests: moto's standalone server (PyPI `moto[server]`,
# pinned below) in its own venv, on 127.0.0.1, in memory (every start is empty).
#
#   scripts/s3.sh install   # the venv with moto[server]; prints the moto_server path
#   scripts/s3.sh start     # installs if missing, starts a server, prints http://127.0.0.1:19000
#   scripts/s3.sh stop
#   scripts/s3.sh status | url | bin
#
# moto takes any access key and secret (tests use AWS_ACCESS_KEY_ID=testing, AWS_SECRET_ACCESS_KEY=testing).
# Env: LLS_S3_VENV (default ~/.cache/llama-stack-rs/s3-venv), LLS_S3_DIR (default /tmp/lls-s3:
# pid file, log), LLS_S3_PORT (default 19000).
# Only the URL goes to stdout, so `export LLS_TEST_S3_ENDPOINT=$(scripts/s3.sh start)` works.
set -euo pipefail

MOTO_VERSION=5.2.6
VENV=${LLS_S3_VENV:-$HOME/.cache/llama-stack-rs/s3-venv}
SVC_DIR=${LLS_S3_DIR:-/tmp/lls-s3}
SVC_PORT=${LLS_S3_PORT:-19000}
SVC_PORT_ENV=LLS_S3_PORT
SVC_NAME=s3.sh
BIN="$VENV/bin/moto_server"
SVC_ADDR="http://127.0.0.1:${SVC_PORT}"
SVC_ADDR_COMMAND=url
SVC_PACKAGES="moto[server]==$MOTO_VERSION"
SVC_IMPORTS="moto, flask"
SVC_LOG=moto.log

launch() { exec "$BIN" -H 127.0.0.1 -p "$SVC_PORT"; }

# shellcheck source=scripts/lib/pyservice.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/pyservice.sh"
svc_main "$@"
