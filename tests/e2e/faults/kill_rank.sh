#!/usr/bin/env bash
# kill -9 of one rank in the middle of a run, then --resume auto.
# usage: kill_rank.sh FERRET_BINARY REPO_ROOT client|root
# Checks: mpirun ends the job with a non-zero status and names the killed process; the newest
# checkpoint verifies (the resume reads it); the resumed run finishes with parameters
# bit-identical to an uninterrupted run (h5diff of /params).
set -u
bin=$1 repo=$2 victim=$3
target_rank=1; [ "$victim" = root ] && target_rank=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
job=(--config "$repo/configs/demo.ini" --rounds 8 --checkpoint-every 1 --num-clients 4 --train-per-client 32
     --eval-samples 8 --rouge-samples 0 --hidden-size 32 --layers 1 --intermediate-size 64 --k 512 --local-steps 20)
run() { mpirun -np 3 --oversubscribe "$bin" "${job[@]}" "$@"; }

run --out "$work/straight" >/dev/null || { echo "FAIL: uninterrupted run"; exit 1; }

run --out "$work/killed" >"$work/killed.log" 2>&1 &
mpirun_pid=$!
for _ in $(seq 1 600); do  # until round 3's checkpoint exists (at most 60 s)
  [ -f "$work/killed/checkpoints/round_000003.h5" ] && break
  sleep 0.1
done
victim_pid=""
for p in $(pgrep -f -- "--out $work/killed"); do
  [ "$p" = "$mpirun_pid" ] && continue
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$target_rank"; then victim_pid=$p; fi
done
[ -n "$victim_pid" ] || { echo "FAIL: rank $target_rank not found (run finished too early?)"; cat "$work/killed.log"; exit 1; }
kill -9 "$victim_pid"
wait "$mpirun_pid"; rc=$?
echo "mpirun exit status after kill -9 of rank $target_rank: $rc"
[ "$rc" -ne 0 ] || { echo "FAIL: mpirun exited 0"; exit 1; }
grep -iE "signal 9|killed" "$work/killed.log" | head -2
ls "$work/killed/checkpoints" | grep -v '^round_[0-9]*\.h5$' && { echo "FAIL: temporary checkpoint left"; exit 1; }
echo "newest checkpoint: $(ls "$work/killed/checkpoints" | tail -1)"

run --out "$work/killed" --resume auto >"$work/resume.log" 2>&1 || { echo "FAIL: resume"; cat "$work/resume.log"; exit 1; }
grep -E '^resumed from' "$work/resume.log"
if h5diff -q "$work/straight/checkpoints/round_000008.h5" "$work/killed/checkpoints/round_000008.h5" /params /params; then
  echo "PASS: resumed parameters are bit-identical to the uninterrupted run"
else
  echo "FAIL: parameters differ"; exit 1
fi
