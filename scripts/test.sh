#!/usr/bin/env bash
# The whole test suite in one command, on a fresh machine or a warm one (CI runs it via .ci/run):
#
#   scripts/test.sh
#
# 1. scripts/install-deps.sh (postgresql-15, the e2e Python venv)
# 2. a throwaway PostgreSQL (scripts/postgres.sh), exported as LLS_TEST_POSTGRES_URL and POSTGRES_*;
#    a throwaway Milvus Lite (scripts/milvus.sh), exported as LLS_TEST_MILVUS_URI, and its
#    executable as LLS_MILVUS_LITE (inline::milvus starts its own)
# 3. cargo test --workspace        (with the starter's inference-inline-fake provider)
# 4. cargo clippy --workspace --all-targets -- -D warnings
# 5. pytest tests/e2e (sqlite and postgres flavours) on the binaries step 3 built
# 6. scripts/watsonx-mock-compat.sh (the test kit's watsonx.ai mock against IBM's ibm-watsonx-ai SDK)
# 7. scripts/vertex-mock-compat.sh (the test kit's Vertex AI mock against Google's google-auth and openai)
# 8. scripts/bedrock-mock-compat.sh (the test kit's Amazon Bedrock mock against AWS's boto3)
# Every step runs even when an earlier one failed (except setup); the exit status is non-zero if
# any failed, and the last lines are a per-step summary ending with pytest's result line.
#
# Env: CARGO_TARGET_DIR (default ~/.cache/llama-stack-rs/target); LLS_E2E_VENV; LLS_TEST_POSTGRES_URL
# (use this server instead of starting one); LLS_TEST_NO_POSTGRES=1 (do not run the PostgreSQL
# tests; each says NOT RUN); LLS_TEST_NO_MODELS=1 (likewise for tests needing model weights);
# LLS_CARGO_FEATURES (default lls-distribution-starter/inference-inline-fake); PYTEST_ARGS.
# LLS_TEST_MILVUS_URI (use this Milvus instead of starting Milvus Lite); LLS_TEST_NO_MILVUS=1 (do not
# run the Milvus tests; each says NOT RUN).
# Tests needing PostgreSQL or weights fail when they are missing, unless opted out as above.
# S3: moto's server (scripts/s3.sh), exported as LLS_TEST_S3_ENDPOINT with moto's test keys as
# AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; LLS_TEST_S3_ENDPOINT set: use that server instead;
# LLS_TEST_NO_S3=1: do not run the S3 tests (each says NOT RUN).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/llama-stack-rs/target}"
export LLS_E2E_VENV="${LLS_E2E_VENV:-$HOME/.cache/llama-stack-rs/e2e-venv}"
export LLS_BIN_DIR="${LLS_BIN_DIR:-$CARGO_TARGET_DIR/debug}"
export OMP_NUM_THREADS=1
export PYTHONDONTWRITEBYTECODE=1
export CARGO_TERM_PROGRESS_WHEN=never
if [ "${CI:-}" = true ]; then
    export CARGO_INCREMENTAL=0   # a cold CI build gains nothing from incremental artifacts
fi
FEATURES="${LLS_CARGO_FEATURES:-lls-distribution-starter/inference-inline-fake}"
LOGS="$CARGO_TARGET_DIR/test-logs"
mkdir -p "$LOGS"

START=$SECONDS
summary=()
failed=0
pytest_last=""

banner() { printf '\n==> %s  (t+%ss)\n' "$*" "$((SECONDS - START))"; }

step() {  # step NAME LIMIT CMD...: runs CMD (killed after LIMIT, e.g. 30m; - for none), records ok/FAIL and its duration
    local name="$1" limit="$2" t0=$SECONDS rc=0 why
    shift 2
    banner "$name: $*"
    if [ "$limit" = - ]; then "$@" || rc=$?; else timeout -k 30 "$limit" "$@" || rc=$?; fi
    if [ "$rc" = 0 ]; then
        summary+=("$(printf '  %-16s ok    %5ss' "$name" "$((SECONDS - t0))")")
    else
        why="exit $rc"
        [ "$rc" != 124 ] || why="exit 124: timed out"
        summary+=("$(printf '  %-16s FAIL  %5ss  (%s)' "$name" "$((SECONDS - t0))" "$why")")
        failed=1
    fi
    return 0
}

PG_STARTED=0
MILVUS_STARTED=0
cleanup() {
    if [ "$MILVUS_STARTED" = 1 ]; then
        bash scripts/milvus.sh stop >/dev/null 2>&1 || echo "test.sh: warning: milvus.sh stop failed" >&2
    fi
    if [ "$PG_STARTED" = 1 ]; then
        bash scripts/postgres.sh stop >/dev/null 2>&1 || echo "test.sh: warning: postgres.sh stop failed" >&2
    fi
    if [ "${S3_STARTED:-0}" = 1 ]; then
        bash scripts/s3.sh stop >/dev/null 2>&1 || echo "test.sh: warning: s3.sh stop failed" >&2
    fi
}
trap cleanup EXIT

command -v cargo >/dev/null 2>&1 || { echo "test.sh: error: cargo not found (install a Rust toolchain)" >&2; exit 1; }

banner "install-deps"
bash scripts/install-deps.sh

if [ "${LLS_TEST_NO_POSTGRES:-}" = 1 ]; then
    unset LLS_TEST_POSTGRES_URL
    banner "postgres: NOT RUN (LLS_TEST_NO_POSTGRES=1): the PostgreSQL tests print NOT RUN and pass"
    summary+=("$(printf '  %-16s NOT RUN      (LLS_TEST_NO_POSTGRES=1)' "postgres tests")")
elif [ -z "${LLS_TEST_POSTGRES_URL:-}" ]; then
    banner "postgres"
    # Stop it at the end only if this script started it (a developer's running cluster stays up).
    bash scripts/postgres.sh status >/dev/null 2>&1 || PG_STARTED=1
    LLS_TEST_POSTGRES_URL="$(bash scripts/postgres.sh start)"
fi
if [ -n "${LLS_TEST_POSTGRES_URL:-}" ]; then
    export LLS_TEST_POSTGRES_URL
    # The same server as POSTGRES_* (what run.yaml files and Rust tests read).
    eval "$("$LLS_E2E_VENV/bin/python" - "$LLS_TEST_POSTGRES_URL" <<'EOF'
import shlex, sys
from urllib.parse import unquote, urlparse
u = urlparse(sys.argv[1])
for k, v in [("HOST", u.hostname or "127.0.0.1"), ("PORT", u.port or 5432), ("DB", u.path.lstrip("/") or "postgres"),
             ("USER", unquote(u.username or "postgres")), ("PASSWORD", unquote(u.password or ""))]:
    print(f"export POSTGRES_{k}={shlex.quote(str(v))}")
EOF
)"
    echo "postgres: $POSTGRES_USER@$POSTGRES_HOST:$POSTGRES_PORT/$POSTGRES_DB"
fi

if [ "${LLS_TEST_NO_MILVUS:-}" = 1 ]; then
    unset LLS_TEST_MILVUS_URI
    banner "milvus: NOT RUN (LLS_TEST_NO_MILVUS=1): the Milvus tests print NOT RUN and pass"
    summary+=("$(printf '  %-16s NOT RUN      (LLS_TEST_NO_MILVUS=1)' "milvus tests")")
else
    if [ -z "${LLS_TEST_MILVUS_URI:-}" ]; then
        banner "milvus"
        # Stop it at the end only if this script started it.
        bash scripts/milvus.sh status >/dev/null 2>&1 || MILVUS_STARTED=1
        LLS_TEST_MILVUS_URI="$(bash scripts/milvus.sh start)"
    fi
    export LLS_TEST_MILVUS_URI
    # inline::milvus runs its own Milvus Lite: the venv's executable, unless one is given.
    LLS_MILVUS_LITE="${LLS_MILVUS_LITE:-$(bash scripts/milvus.sh install)}"
    export LLS_MILVUS_LITE
    echo "milvus: $LLS_TEST_MILVUS_URI (inline::milvus runs $LLS_MILVUS_LITE)"
fi

S3_STARTED=0
if [ "${LLS_TEST_NO_S3:-}" = 1 ]; then
    unset LLS_TEST_S3_ENDPOINT
    banner "s3: NOT RUN (LLS_TEST_NO_S3=1): the S3 tests print NOT RUN and pass"
    summary+=("$(printf '  %-16s NOT RUN      (LLS_TEST_NO_S3=1)' "s3 tests")")
else
    if [ -z "${LLS_TEST_S3_ENDPOINT:-}" ]; then
        banner "s3"
        # Stop it at the end only if this script started it.
        bash scripts/s3.sh status >/dev/null 2>&1 || S3_STARTED=1
        LLS_TEST_S3_ENDPOINT="$(bash scripts/s3.sh start)"
        # moto takes any keys; these are the ones its documentation uses.
        export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
    fi
    export LLS_TEST_S3_ENDPOINT
    echo "s3: $LLS_TEST_S3_ENDPOINT"
fi

if [ "${LLS_TEST_NO_MODELS:-}" = 1 ]; then
    summary+=("$(printf '  %-16s NOT RUN      (LLS_TEST_NO_MODELS=1)' "model tests")")
fi
step "cargo test" 45m cargo test --workspace --locked --no-fail-fast --features "$FEATURES"
step "cargo clippy" 30m cargo clippy --workspace --all-targets --locked --keep-going --features "$FEATURES" -- -D warnings
run_pytest() {
    # shellcheck disable=SC2086
    timeout -k 30 15m "$LLS_E2E_VENV/bin/python" -m pytest tests/e2e -q ${PYTEST_ARGS:-} 2>&1 | tee "$LOGS/pytest.log"
    return "${PIPESTATUS[0]}"
}
rm -f "$LOGS/pytest.log"
before=$failed
failed=0
# The e2e suite runs the binaries `cargo test` already built (its integration tests need them): a
# no-op here that only puts them back in place. `cargo build` would resolve features without the
# dev-dependencies and compile ~30 crates a second time.
step "binaries" 20m cargo test --workspace --locked --no-run --features "$FEATURES"
if [ "$failed" = 0 ]; then
    step "pytest e2e" - run_pytest
    pytest_last="$(grep -v '^[[:space:]]*$' "$LOGS/pytest.log" 2>/dev/null | tail -n 1 || true)"
else
    summary+=("$(printf '  %-16s SKIP         (the binaries did not build)' "pytest e2e")")
    pytest_last="not run: the binaries did not build"
fi
[ "$before" = 0 ] || failed=1
# The watsonx.ai mock against IBM's own SDK (ibm-watsonx-ai in a venv of its own, kept between runs).
step "watsonx compat" 15m bash scripts/watsonx-mock-compat.sh
# The Vertex AI mock against Google's own auth library (google-auth in a venv of its own, kept between runs).
step "vertex compat" 10m bash scripts/vertex-mock-compat.sh

# The Amazon Bedrock mock against AWS's own SDK (boto3 in a venv of its own, kept between runs).
step "bedrock compat" 10m bash scripts/bedrock-mock-compat.sh

banner "summary"
printf '%s\n' "${summary[@]}"
if [ "$failed" != 0 ]; then
    echo "test.sh: FAILED after $((SECONDS - START))s"
else
    echo "test.sh: all passed in $((SECONDS - START))s"
fi
# pytest's result line last, where CI logs show it.
echo "pytest: ${pytest_last:-(no output)}"
exit "$failed"
