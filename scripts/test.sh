#!/usr/bin/env bash
# Runs the whole test suite (ctest: unit tests, MPI runs at -np 1, 3, 4, CLI error handling).
# Sets up first if needed. Extra arguments go to ctest (e.g. -R Projection).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
source scripts/env.sh
ctest --test-dir build --output-on-failure --timeout 600 "$@"
