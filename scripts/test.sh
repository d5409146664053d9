#!/usr/bin/env bash
# The whole test suite in one command, on a fresh machine or a warm one (CI runs it via .ci/run):
#
#   scripts/test.sh
#
# 1. scripts/install-deps.sh (postgresql-15, the e2e Python venv)
# 2. a throwaway PostgreSQL (scripts/postgres.sh), exported as LLS_TEST_POSTGRES_URL and POSTGRES_*
# 3. cargo test --workspace        (with the starter's inference-inline-fake provider)
# 4. cargo clippy --workspace --all-targets -- -D warnings
# 5. pytest tests/e2e (sqlite and postgres flavours) on the binaries step 3 built
# Every step runs even when an earlier one failed (except setup); the exit status is non-zero if
# any failed, and the last lines are a per-step summary ending with pytest's result line.
#
# Env: CARGO_TARGET_DIR (default ~/.cache/llama-stack-rs/target); LLS_E2E_VENV; LLS_TEST_POSTGRES_URL
# (use this server instead of starting one); LLS_TEST_NO_POSTGRES=1 (do not run the PostgreSQL
# tests; each says NOT RUN); LLS_TEST_NO_MODELS=1 (likewise for tests needing model weights);
# LLS_CARGO_FEATURES (default lls-distribution-starter/inference-inline-fake); PYTEST_ARGS.
# Tests needing PostgreSQL or weights fail when they are missing, unless opted out as above.
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
cleanup() {
    if [ "$PG_STARTED" = 1 ]; then
        bash scripts/postgres.sh stop >/dev/null 2>&1 || echo "test.sh: warning: postgres.sh stop failed" >&2
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
