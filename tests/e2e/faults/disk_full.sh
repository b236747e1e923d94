#!/usr/bin/env bash
# --out on a tiny tmpfs: refused before training when even one checkpoint cannot fit; when the
# disk fills during the run, the job stops with an error naming the file, and what was written
# before (metrics rounds, the newest checkpoint) stays readable.
# usage: disk_full.sh FERRET_BINARY REPO_ROOT        (exit 77 = skipped: cannot mount tmpfs)
set -u
bin=$1 repo=$2
mnt=$(mktemp -d)
mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null || { echo "SKIP: cannot mount a tmpfs here"; rmdir "$mnt"; exit 77; }
trap 'umount "$mnt"; rmdir "$mnt"' EXIT
small=(--config "$repo/configs/demo.ini" --rouge-samples 0 --eval-samples 8 --num-clients 2 --train-per-client 16)

out=$("$bin" "${small[@]}" --out "$mnt/run" --rounds 1 2>&1); rc=$?
echo "$out" | tail -1
[ "$rc" -eq 2 ] && echo "$out" | grep -q "free, but a checkpoint needs" || { echo "FAIL: not refused up front"; exit 1; }

umount "$mnt" && mount -t tmpfs -o size=4m tmpfs "$mnt"   # room for a few checkpoints of 0.44 MB, not 20
"$bin" "${small[@]}" --out "$mnt/run" --rounds 20 --checkpoint-every 1 >"$mnt/../disk_full.log" 2>&1; rc=$?
err=$(grep 'ferret: error' "$mnt/../disk_full.log" | head -1)
echo "exit $rc: $err"
[ "$rc" -ne 0 ] && echo "$err" | grep -q 'round_0000' || { echo "FAIL: a full disk was not reported"; cat "$mnt/../disk_full.log" | tail -5; exit 1; }
newest=$(ls "$mnt/run/checkpoints" | grep -E '^round_[0-9]+\.h5$' | tail -1)
"$bin" replay --run "$mnt/run" >/dev/null 2>&1 && echo "newest checkpoint $newest verifies and replays" \
  || { echo "FAIL: the newest checkpoint $newest does not verify"; exit 1; }
echo "PASS: disk full is refused up front, or reported mid-run with earlier output intact"
