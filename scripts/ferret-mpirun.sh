#!/usr/bin/env bash
# defines: mpirun with preemption that keeps its promise: SIGTERM (or SIGINT, SIGUSR1) to this script
# reaches the ranks as SIGUSR1, so they checkpoint after the current round and the job exits 3.
#
# Why: Open MPI 4's mpirun does not forward SIGTERM; it kills its ranks a second later and exits 1,
# losing the round in progress (measured with Open MPI 4.1.4; `ess_base_forward_signals` refuses
# SIGTERM). It does forward SIGUSR1, which ferret treats exactly as SIGTERM. Under srun this is not
# needed: Slurm signals every task itself.
#   usage: scripts/ferret-mpirun.sh MPIRUN_ARGUMENTS...   e.g. scripts/ferret-mpirun.sh -np 4 build/ferret --config configs/demo.ini
# Exit status: mpirun's (0 done, 2 bad input, 3 preempted, ...).
set -u
mpirun "$@" &
pid=$!
trap 'kill -USR1 "$pid" 2>/dev/null' TERM INT USR1
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"  # returns early (status > 128) when one of the signals above arrives; wait again
done
wait "$pid"  # the status bash kept for the finished job
