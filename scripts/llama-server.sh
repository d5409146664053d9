#!/usr/bin/env bash
# Builds llama-server, the baseline of `cargo xtask bench llm`, and prints its path on stdout.
#
#   scripts/llama-server.sh
#
# No package ships llama-server built from the llama.cpp that inline::llama-cpp links (the
# `llama-cpp-sys-2` crate vendors llama.cpp without the server's sources). So the server is built
# from the llama.cpp that the newest llama-cpp-python sdist on PyPI vendors (its tools/server,
# src and common), with the ggml of the crate (the CPU kernels, which is where the time goes):
# both engines then run the same matrix code. The versions are in the binary's folder name and
# in the bench report.
#
# Built as models.md §2.2 says: GGML_NATIVE=OFF (-march=native compiles an AMX path that faults
# on our VMs) with AVX/AVX2/FMA/F16C/BMI2, as .cargo/config.toml does for the crate; no web UI,
# no OpenSSL, no tests. About 8 minutes on 2 cores; cached in
# ${LLS_TOOLS_DIR:-~/.cache/llama-stack-rs/tools}/llama-server-<crate version>-py<sdist version>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LLS_TOOLS_DIR:-$HOME/.cache/llama-stack-rs/tools}"
SDIST_VERSION=0.3.36

log() { echo "llama-server: $*" >&2; }
die() { echo "llama-server: error: $*" >&2; exit 1; }

command -v cmake >/dev/null 2>&1 || die "cmake is missing (scripts/install-deps.sh --runtime installs it)"

# The crate's vendored llama.cpp, where cargo unpacked it.
sys_manifest="$(cd "$ROOT" && cargo metadata --format-version 1 2>/dev/null | python3 -c '
import json, sys
meta = json.load(sys.stdin)
paths = [p["manifest_path"] for p in meta["packages"] if p["name"] == "llama-cpp-sys-2"]
print(paths[0] if paths else "")
')" || die "cargo metadata failed"
[ -n "$sys_manifest" ] || die "llama-cpp-sys-2 is not in the workspace's dependencies"
sys_dir="$(dirname "$sys_manifest")"
sys_version="$(basename "$sys_dir" | sed 's/^llama-cpp-sys-2-//')"
[ -d "$sys_dir/llama.cpp/ggml" ] || die "$sys_dir/llama.cpp/ggml is missing (run cargo fetch)"

out_dir="$TOOLS/llama-server-$sys_version-py$SDIST_VERSION"
bin="$out_dir/llama-server"
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/lls-llama-server.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

log "downloading the llama-cpp-python==$SDIST_VERSION sdist from PyPI"
python3 -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$SDIST_VERSION" -d "$scratch" >&2 \
    || die "pip download llama-cpp-python==$SDIST_VERSION failed"
tar xzf "$scratch/llama_cpp_python-$SDIST_VERSION.tar.gz" -C "$scratch" "llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp"
src="$scratch/llama_cpp_python-$SDIST_VERSION/vendor/llama.cpp"
rm -rf "$src/ggml"
cp -r "$sys_dir/llama.cpp/ggml" "$src/ggml"

log "building llama-server (llama.cpp of llama-cpp-python $SDIST_VERSION, ggml of llama-cpp-sys-2 $sys_version)"
cmake -S "$src" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >"$scratch/cmake.log" 2>&1 \
    || { tail -30 "$scratch/cmake.log" >&2; die "cmake configure failed"; }
cmake --build "$scratch/build" --target llama-server -j "$(nproc)" >"$scratch/build.log" 2>&1 \
    || { tail -30 "$scratch/build.log" >&2; die "cmake build failed"; }

mkdir -p "$out_dir"
cp "$scratch/build/bin/llama-server" "$bin.tmp"
mv "$bin.tmp" "$bin"
log "built $bin"
echo "$bin"
