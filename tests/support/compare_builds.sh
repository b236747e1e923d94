#!/usr/bin/env bash
# Bit-identity of two ferret builds: the same configurations run with OLD and NEW, and the final
# checkpoint's /params compared with h5diff (exact, no tolerance). Used when a change must not alter
# behaviour (e.g. a refactor): build the old commit in a git worktree and pass both executables.
#   tests/support/compare_builds.sh OLD/build/ferret build/ferret [WORKDIR]
# Prints one line per configuration, "identical" or "DIFFERENT", and exits 1 if any differs.
set -euo pipefail
old=$(realpath "$1"); new=$(realpath "$2"); work=${3:-$(mktemp -d)}; mkdir -p "$work"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"; source scripts/env.sh
cases=(
  "4|--config configs/demo.ini --rounds 40"
  "3|--config configs/demo.ini --rounds 12 --algorithm fedavg --client-weighting equal --server-momentum 0.9 --server-lr-schedule cosine --checkpoint-every 4"
  "3|--config configs/demo.ini --rounds 12 --algorithm fedkseed --k 64 --checkpoint-every 4"
  "2|--config configs/demo.ini --rounds 8 --basis gaussian --allocation size --optimizer adamw --inject-fault nan --inject-fault-client 1 --checkpoint-every 4"
)
status=0
for i in "${!cases[@]}"; do
  np=${cases[$i]%%|*}; args=${cases[$i]#*|}
  for which in old new; do
    exe=$old; [ "$which" = new ] && exe=$new
    # shellcheck disable=SC2086
    mpirun -np "$np" --oversubscribe --bind-to none "$exe" $args --out "$work/$i-$which" >"$work/$i-$which.log" 2>&1 ||
      { echo "case $i ($which) failed: see $work/$i-$which.log"; status=1; continue 2; }
  done
  last=$(ls "$work/$i-old/checkpoints" | sort | tail -n1)
  if h5diff -q "$work/$i-old/checkpoints/$last" "$work/$i-new/checkpoints/$last" /params /params; then
    echo "case $i (-np $np $args): /params of $last identical"
  else
    echo "case $i (-np $np $args): /params of $last DIFFERENT"; status=1
  fi
done
exit $status
