# Sourced by the ferret-*.sbatch scripts (from the repository: Slurm runs a copy of the batch
# script, so its own folder is not at hand). Runs one srun step of ferret in the background,
# passes the batch shell's USR1 (--signal=B:USR1@T) on to it, and requeues the job when ferret
# reports that it stopped after a checkpoint (exit 3); the requeued job resumes.
#   run_ferret_step srun [srun options] build/ferret [ferret options]
run_ferret_step() {
  "$@" &
  local step=$! rc
  trap "echo 'USR1: asking ferret to checkpoint and stop'; kill -USR1 $step" USR1
  while :; do
    wait "$step"; rc=$?
    kill -0 "$step" 2>/dev/null || break   # a trapped signal interrupts wait; the step still runs
  done
  if [ "$rc" -eq 3 ]; then
    echo "preempted after a checkpoint: requeueing job $SLURM_JOB_ID"
    scontrol requeue "$SLURM_JOB_ID"
    return 0
  fi
  return "$rc"
}

# --resume auto when the output directory already holds a checkpoint (a requeued job).
resume_args() {
  compgen -G "$1/checkpoints/round_*.h5" >/dev/null && echo "--resume auto"
}
