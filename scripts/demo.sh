#!/usr/bin/env bash
# Runs the demo: Ferret on the embedded instruction tasks, 4 MPI ranks (rank 0 server, 3 client
# ranks hosting 8 clients), configs/demo.ini. Sets up first if needed. Extra arguments go to
# ferret (e.g. --algorithm fedavg, --out runs/other). Re-running replaces runs/demo.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
source scripts/env.sh
ranks=${FERRET_RANKS:-4}
out=runs/demo
args=(--config configs/demo.ini --out "$out" --overwrite "$@")
for a in "$@"; do case "$a" in --out|--out=*) args=(--config configs/demo.ini --overwrite "$@"); out="";; esac; done
mpirun -np "$ranks" --oversubscribe --bind-to none build/ferret "${args[@]}"
if [ -n "$out" ]; then
  echo "HDF5 metrics: $root/$out/metrics.h5 (checkpoints in $root/$out/checkpoints/)"
  echo "inspect: h5dump -H $out/metrics.h5   or   .venv/bin/python analysis/summarize.py $out/metrics.h5"
fi
