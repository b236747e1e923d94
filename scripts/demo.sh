#!/usr/bin/env bash
# Runs the demo: Ferret on the embedded instruction tasks with 4 MPI ranks (rank 0 server, 3
# client ranks hosting 10 clients), configs/demo.ini. Sets up first if needed. Each run writes a
# new directory runs/demo-<date-time> (or --out DIR); extra arguments go to ferret, e.g.
#   scripts/demo.sh --algorithm fedavg
#   FERRET_RANKS=1 scripts/demo.sh --rounds 5
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
source scripts/env.sh
out=runs/demo-$(date +%Y%m%d-%H%M%S)
for a in "$@"; do
  case "$a" in --out=*) out=${a#--out=} ;; esac
done
prev=""
for a in "$@"; do
  [ "$prev" = "--out" ] && out=$a
  prev=$a
done
args=(--config configs/demo.ini "$@")
[[ " $* " == *" --out "* || " $* " == *" --out="* ]] || args+=(--out "$out")
mpirun -np "${FERRET_RANKS:-4}" --oversubscribe --bind-to none build/ferret "${args[@]}"
abs=$(realpath -m "$out")
echo "HDF5 metrics: $abs/metrics.h5 (checkpoints: $abs/checkpoints/)"
echo "summary: .venv/bin/python analysis/summarize.py $out/metrics.h5 [--plot loss.png]"
