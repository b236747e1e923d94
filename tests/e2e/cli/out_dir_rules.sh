#!/usr/bin/env bash
# What --out promises (README "Reliability"): one run at a time, nothing created by a refused run,
# a resume that cannot change what the coefficients mean and records what it may change.
# usage: out_dir_rules.sh FERRET_BINARY REPO_ROOT
# Checks, each with the exact exit status and message:
#   1. a second run on a folder in use (here --resume auto, which once overwrote the first run's
#      rounds) is refused naming the holder's host and pid, and the first run goes on;
#   2. a run refused after validation (an unreadable model file) leaves no --out behind, and the
#      corrected rerun starts;
#   3. --resume with --basis gaussian on a rademacher run is refused; with --lr 0.2 and more
#      rounds it continues, says what changed, records it in /config_history, and `ferret
#      replay` still rebuilds the final checkpoint bit for bit.
set -u
bin=$1 repo=$2
work=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
job=(--config "$repo/configs/demo.ini" --checkpoint-every 1 --num-clients 4 --train-per-client 32 --eval-samples 8
     --rouge-samples 0 --hidden-size 32 --layers 1 --intermediate-size 64 --k 512)
fail() { echo "FAIL: $*"; exit 1; }
expect() {  # STATUS REGEX LOG RC: the status and exactly one matching line (RC captured first:
            # a $(...) in the arguments would reset $?)
  [ "$1" -eq "$4" ] || { cat "$3"; fail "exit status $4, expected $1"; }
  [ "$(grep -Ec -- "$2" "$3")" -eq 1 ] || { cat "$3"; fail "no single line matching '$2'"; }
}

# 1. the lock
mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 500 --out "$work/a" >"$work/a.log" 2>&1 &
first=$!
for _ in $(seq 1 600); do grep -qE '^round +1/500' "$work/a.log" && break; sleep 0.1; done
grep -qE '^round +1/500' "$work/a.log" || fail "the first run printed no round"
mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 500 --out "$work/a" --resume auto >"$work/b.log" 2>&1
rc=$?; host=$(hostname)
expect 2 "^ferret: error: --out '$work/a' is in use by another ferret run \\(host $host, pid [0-9]+, since .*\\); wait for it to end or choose another --out$" "$work/b.log" $rc
kill -0 "$first" 2>/dev/null || fail "the first run did not survive the second"
kill -USR1 "$first"; wait "$first"; rc=$?
[ "$rc" -eq 3 ] || fail "the first run ended with $rc, expected 3 (preempted)"
echo "1. second run refused while the first held --out; the first finished (exit 3)"

# 2. nothing created by a refused run
echo "GGUF but not really" >"$work/bad.gguf"
"$bin" "${job[@]}" --rounds 1 --model-dir "$work/bad.gguf" --out "$work/c" >"$work/c.log" 2>&1
expect 2 "^ferret: error: .*bad.gguf" "$work/c.log" $?
[ ! -e "$work/c" ] || fail "the refused run left $(find "$work/c" | tr '\n' ' ')"
"$bin" "${job[@]}" --rounds 2 --out "$work/c" >"$work/c2.log" 2>&1 || { cat "$work/c2.log"; fail "the corrected rerun"; }
echo "2. a refused run left no --out; the corrected rerun ran"

# 3. what a resume may change
"$bin" "${job[@]}" --rounds 3 --out "$work/c" --resume auto --basis gaussian >"$work/d.log" 2>&1
expect 2 "^ferret: error: --resume: --basis = gaussian differs from the run in '.*round_000002.h5'; .*\\(allowed: --basis = rademacher\\)$" "$work/d.log" $?
"$bin" "${job[@]}" --rounds 3 --out "$work/c" --resume auto --lr 0.2 >"$work/e.log" 2>&1 || { cat "$work/e.log"; fail "resume with --lr 0.2"; }
line=$(grep "^ferret: resuming after round 2 with " "$work/e.log")
[[ $line == *"lr 0.1 -> 0.2"* && $line == *"rounds 2 -> 3"* ]] || { cat "$work/e.log"; fail "no line naming the changes"; }
echo "$line"
h5dump -a /config_history/from_round_000003 "$work/c/metrics.h5" | grep -q 'lr = 0.2' || fail "/config_history lacks round 3's lr"
h5dump -a /config "$work/c/metrics.h5" | grep -q 'lr = 0.1' || fail "/config was rewritten"
"$bin" replay --run "$work/c" >"$work/f.log" 2>&1 || { cat "$work/f.log"; fail "replay after the recorded change"; }
grep -q "bit-identical" "$work/f.log" || fail "replay not bit-identical"
echo "3. --basis refused on resume; --lr recorded from round 3; replay bit-identical"
echo "PASS: --out is locked, untouched by refusals, and resumes keep provenance"
