#!/usr/bin/env bash
# kill -9 of mpirun itself in the middle of a run, then --resume auto.
# usage: kill_launcher.sh FERRET_BINARY REPO_ROOT
# Checks: every rank stops by itself within 5 s of its launcher's death (federated/launcher_watch),
# so no checkpoint or metrics row appears afterwards; a resume removes the temporary checkpoint of a
# dead writer (and keeps one whose writer is alive), and finishes with parameters bit-identical to
# an uninterrupted run (h5diff of /params).
set -u
bin=$1 repo=$2
work=$(mktemp -d)
trap 'pkill -9 -f -- "--out $work/" 2>/dev/null; rm -rf "$work"' EXIT
job=(--config "$repo/configs/demo.ini" --rounds 8 --checkpoint-every 1 --num-clients 4 --train-per-client 32
     --eval-samples 8 --rouge-samples 0 --hidden-size 32 --layers 1 --intermediate-size 64 --k 512 --local-steps 40)
run() { mpirun -np 3 --oversubscribe "$bin" "${job[@]}" "$@"; }

run --out "$work/straight" >/dev/null || { echo "FAIL: uninterrupted run"; exit 1; }

# mpirun itself in the background (not through run(): $! would be a subshell, not mpirun).
mpirun -np 3 --oversubscribe "$bin" "${job[@]}" --out "$work/killed" >"$work/killed.log" 2>&1 &
mpirun_pid=$!
for _ in $(seq 1 600); do  # until round 2's checkpoint exists (at most 60 s)
  [ -f "$work/killed/checkpoints/round_000002.h5" ] && break
  sleep 0.1
done
ranks=$(pgrep -f -- "--out $work/killed" | grep -vx "$mpirun_pid" | wc -l)
[ "$ranks" -eq 3 ] || { echo "FAIL: $ranks ranks running, expected 3 (run finished too early?)"; cat "$work/killed.log"; exit 1; }
kill -9 "$mpirun_pid"
t0=$(date +%s.%N)
for _ in $(seq 1 50); do
  pgrep -f -- "--out $work/killed" >/dev/null || break
  sleep 0.1
done
left=$(pgrep -f -- "--out $work/killed" | wc -l)
gone=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$left" -eq 0 ] || { echo "FAIL: $left ranks still running 5 s after kill -9 of mpirun"; exit 1; }
echo "all ranks stopped ${gone} s after kill -9 of mpirun"
before=$(ls "$work/killed/checkpoints"); sleep 1
[ "$before" = "$(ls "$work/killed/checkpoints")" ] || { echo "FAIL: checkpoints changed after the ranks stopped"; exit 1; }
echo "newest checkpoint: $(ls "$work/killed/checkpoints" | grep '\.h5$' | tail -1)"

# Temporaries: one of a dead writer (a PID that has exited), one of a live one (this shell).
sleep 0 & dead=$!; wait "$dead"
echo stale >"$work/killed/checkpoints/round_000007.h5.tmp.$dead"
echo live >"$work/killed/checkpoints/round_000008.h5.tmp.$$"
run --out "$work/killed" --resume auto >"$work/resume.log" 2>&1 || { echo "FAIL: resume"; cat "$work/resume.log"; exit 1; }
grep -E '^resumed from|stale temporary' "$work/resume.log"
[ ! -e "$work/killed/checkpoints/round_000007.h5.tmp.$dead" ] || { echo "FAIL: the dead writer's temporary is still there"; exit 1; }
grep -q "removed the stale temporary '.*round_000007.h5.tmp.$dead'" "$work/resume.log" || { echo "FAIL: removal not logged"; exit 1; }
[ -e "$work/killed/checkpoints/round_000008.h5.tmp.$$" ] || { echo "FAIL: a live writer's temporary was removed"; exit 1; }
if h5diff -q "$work/straight/checkpoints/round_000008.h5" "$work/killed/checkpoints/round_000008.h5" /params /params; then
  echo "PASS: ranks stopped with their launcher; resumed parameters are bit-identical"
else
  echo "FAIL: parameters differ"; exit 1
fi
