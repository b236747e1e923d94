#!/usr/bin/env bash
# The sanitizer build: the torch-free layers (random, projection, config, data, io, comm, algorithms,
# the model-file readers) and their unit tests built with -fsanitize=address,undefined into
# build-asan/, then `ctest -L unit` there, which includes the seeded fuzz passes over the GGUF,
# safetensors and tokenizer.json readers. LibTorch is left out: its prebuilt libraries are not
# instrumented. FERRET_FUZZ_ITERATIONS (default: the ctest setting, 3000) runs a longer extra pass.
# Extra arguments go to ctest (e.g. -R Projection). Needs what scripts/setup.sh installs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
sanitizers=${FERRET_SANITIZE:-address,undefined}
if [ ! -f build-asan/CMakeCache.txt ]; then
  mkdir -p build-asan
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRET_SANITIZE="$sanitizers" \
        -DFERRET_WITH_TORCH=OFF -DFERRET_CUDA=OFF >build-asan/configure.log 2>&1 ||
    { cat build-asan/configure.log >&2; exit 1; }
fi
cmake --build build-asan -j "${FERRET_JOBS:-2}"
source scripts/env.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-asan -L unit --output-on-failure --timeout 600 "$@"
if [ -n "${FERRET_FUZZ_ITERATIONS:-}" ]; then
  for reader in gguf safetensors tokenizer; do
    build-asan/tests/fuzz_readers "$reader" --iterations "$FERRET_FUZZ_ITERATIONS" --seed 2 --max-seconds 600
  done
fi
