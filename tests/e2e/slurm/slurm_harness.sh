#!/usr/bin/env bash
# A throwaway single-node Slurm on localhost, for the job-script tests.
#   source tests/e2e/slurm/slurm_harness.sh; slurm_start; ...; slurm_stop
# slurm_start writes slurm.conf into a temp dir, starts munged (if none runs), slurmctld and
# slurmd by hand (no systemd) and waits for the node to be idle; it exports SLURM_CONF for the
# clients. slurm_stop kills what it started, by PID. Needs root and Debian's slurmctld, slurmd,
# munge and slurm-client (scripts/setup.sh installs them).

slurm_available() { command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && command -v sbatch >/dev/null; }

slurm_start() {
  SLURM_DIR=$(mktemp -d /tmp/ferret-slurm.XXXXXX)
  export SLURM_DIR
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool"
  local host cpus mem
  host=$(hostname -s)
  cpus=8  # more than this machine's cores (config_overrides), so 4-rank jobs fit on a 2-core box
  mem=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) * 9 / 10 ))
  cat >"$SLURM_DIR/slurm.conf" <<CONF
ClusterName=ferret-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# A requeued job waits out the credential lifetime (default 120 s) before it may start again.
AuthInfo=cred_expire=15
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
SlurmdParameters=config_overrides
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF="$SLURM_DIR/slurm.conf"
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chmod 755 /run/munge   # munge refuses a socket dir others can't read
    [ -f /etc/munge/munge.key ] || mungekey --create >/dev/null 2>&1 || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    chmod 400 /etc/munge/munge.key
    munged --force --pid-file="$SLURM_DIR/munged.pid" || return 1
    SLURM_STARTED_MUNGE=1
  fi
  slurmctld -f "$SLURM_CONF" -i || return 1
  slurmd -f "$SLURM_CONF" || return 1
  for _ in $(seq 1 60); do
    sinfo -h -o '%t' 2>/dev/null | grep -qE '^idle' && return 0
    sleep 0.5
  done
  echo "slurm_harness: node did not become idle" >&2
  tail -n 5 "$SLURM_DIR/slurmctld.log" "$SLURM_DIR/slurmd.log" >&2
  return 1
}

slurm_stop() {
  [ -n "${SLURM_DIR:-}" ] || return 0
  local f pids=()
  for f in slurmd slurmctld; do
    [ -f "$SLURM_DIR/$f.pid" ] && pids+=("$(cat "$SLURM_DIR/$f.pid")")
  done
  [ -n "${SLURM_STARTED_MUNGE:-}" ] && [ -f "$SLURM_DIR/munged.pid" ] && pids+=("$(cat "$SLURM_DIR/munged.pid")")
  kill "${pids[@]}" 2>/dev/null
  for _ in $(seq 1 100); do  # until they are gone, so the next start can bind the ports
    local alive=0
    for f in "${pids[@]}"; do kill -0 "$f" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -rf "$SLURM_DIR"
  unset SLURM_DIR SLURM_CONF SLURM_STARTED_MUNGE
}
