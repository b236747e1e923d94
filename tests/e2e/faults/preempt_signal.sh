#!/usr/bin/env bash
# A preemption signal mid-run: every rank stops after the current round, rank 0 writes a
# checkpoint, and the job exits with status 3.
# usage: preempt_signal.sh FERRET_BINARY [usr1|term-wrapper]
#   usr1          SIGUSR1 to mpirun (what Slurm's --signal sends before a time limit; mpirun forwards it)
#   term-wrapper  SIGTERM to scripts/ferret-mpirun.sh (Open MPI's mpirun would kill the ranks on
#                 SIGTERM and exit 1; the wrapper turns it into SIGUSR1)
# The signal is sent only once rank 0 has printed its first round line: a signal that arrives
# before the handlers are installed would kill the job (a fixed sleep raced with a loaded machine).
set -u
bin=$1 mode=${2:-usr1}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
launcher=(mpirun) signal=USR1
[ "$mode" = term-wrapper ] && launcher=(bash "$repo/scripts/ferret-mpirun.sh") signal=TERM
"${launcher[@]}" -np 3 --oversubscribe "$bin" --out "$work/run" --rounds 500 --num-clients 4 --train-per-client 32 \
  --eval-samples 8 --rouge-samples 0 --hidden-size 32 --layers 1 --intermediate-size 64 --k 512 \
  >"$work/log" 2>&1 &
mpirun_pid=$!
for _ in $(seq 1 1200); do  # at most 120 s
  grep -qE '^round +1/500' "$work/log" && break
  kill -0 "$mpirun_pid" 2>/dev/null || break
  sleep 0.1
done
grep -qE '^round +1/500' "$work/log" || { echo "FAIL: no round line before the run ended"; cat "$work/log"; exit 1; }
kill -"$signal" "$mpirun_pid"
wait "$mpirun_pid"; rc=$?
cat "$work/log"
echo "exit=$rc"
[ "$rc" -eq 3 ] || { echo "FAIL: exit status $rc, expected 3"; exit 1; }
grep -qE 'preempted by signal 10: checkpointed after round [0-9]+/500' "$work/log" \
  || { echo "FAIL: no preemption line"; exit 1; }
ls "$work/run/checkpoints" | grep -qE '^round_[0-9]+\.h5$' || { echo "FAIL: no checkpoint"; exit 1; }
echo "PASS: preempted by SIG$signal ($mode), checkpoint $(ls "$work/run/checkpoints" | tail -1), exit status 3"
