#!/usr/bin/env bash
# --device cuda end to end.   usage: device_cuda.sh FERRET_BINARY REPO_ROOT refusal|run
#   refusal  (machines without a usable GPU; exits 77 = skipped where one is present)
#            the run is refused on every rank with one line naming --device and the reason, exit
#            status 2, and the --out folder of an earlier run is left as it was.
#   run      (machines with a GPU; exits 77 = skipped without one)
#            Ferret and FedAvg finish at np 1 and np 2 (ranks share the GPUs when there are fewer);
#            the same seed twice gives bit-identical parameters (h5diff of /params); Ferret's eval
#            loss after 3 rounds is within 1 % of the same run on the CPU; --data-comm nccl gives the
#            same bits as MPI (np 1, and np 2 where there are 2 GPUs: a sum of two is order-free),
#            and is refused by name when two ranks would share a GPU; `ferret replay` on the CPU
#            rebuilds a GPU run's checkpoint bit for bit (the CUDA reconstruction equals the CPU's).
set -u
bin=$1 repo=$2 mode=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
job=(--config "$repo/configs/demo.ini" --checkpoint-every 1 --num-clients 4 --train-per-client 32
     --eval-samples 8 --rouge-samples 0 --hidden-size 32 --layers 1 --intermediate-size 64 --k 512 --local-steps 20)
have_gpu() { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; }
final_eval() { sed -n 's/^round 3\/3 | eval \([0-9.]*\).*/\1/p' "$1"; }

if [ "$mode" = refusal ]; then
  have_gpu && { echo "SKIP: a GPU is present (the run mode covers it)"; exit 77; }
  mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 1 --out "$work/earlier" >/dev/null 2>&1 ||
    { echo "FAIL: the CPU run before it"; exit 1; }
  before=$(cd "$work/earlier" && find . -type f -exec md5sum {} + | sort)
  mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 1 --device cuda --out "$work/earlier" --overwrite >"$work/log" 2>&1
  rc=$?
  cat "$work/log"
  [ "$rc" -ne 0 ] || { echo "FAIL: --device cuda ran without a GPU"; exit 1; }
  lines=$(grep -c '^ferret: error: --device = cuda' "$work/log")
  [ "$lines" -ge 1 ] || { echo "FAIL: no one-line error naming --device"; exit 1; }
  grep -q -- '--device = cuda.*allowed' "$work/log" || { echo "FAIL: the error does not say what is allowed"; exit 1; }
  after=$(cd "$work/earlier" && find . -type f -exec md5sum {} + | sort)
  [ "$before" = "$after" ] || { echo "FAIL: the earlier run's files changed"; exit 1; }
  "$bin" "${job[@]}" --rounds 1 --device cuda --out "$work/single" >/dev/null 2>&1
  rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL: exit status $rc, expected 2"; exit 1; }
  echo "PASS: --device cuda refused cleanly (exit 2, earlier output untouched)"
  exit 0
fi

have_gpu || { echo "SKIP: no GPU (nvidia-smi -L lists none)"; exit 77; }
nvidia-smi -L
for np in 1 2; do
  for algorithm in ferret fedavg; do
    for attempt in a b; do
      out="$work/$algorithm-np$np-$attempt"
      mpirun -np "$np" --oversubscribe "$bin" "${job[@]}" --rounds 3 --algorithm "$algorithm" --device cuda --out "$out" \
        >"$out.log" 2>&1 || { echo "FAIL: $algorithm np $np (--device cuda)"; cat "$out.log"; exit 1; }
    done
    grep -E '^# device|^round 3/3' "$work/$algorithm-np$np-a.log"
    h5diff -q "$work/$algorithm-np$np-a/checkpoints/round_000003.h5" "$work/$algorithm-np$np-b/checkpoints/round_000003.h5" \
      /params /params || { echo "FAIL: $algorithm np $np: the same seed gave different parameters"; exit 1; }
  done
done
mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 3 --out "$work/cpu" >"$work/cpu.log" 2>&1 || { echo "FAIL: cpu run"; exit 1; }
gpu=$(final_eval "$work/ferret-np2-a.log") cpu=$(final_eval "$work/cpu.log")
echo "ferret np 2, eval loss after 3 rounds: cuda $gpu, cpu $cpu"
awk -v g="$gpu" -v c="$cpu" 'BEGIN { d = g - c; if (d < 0) d = -d; exit !(g != "" && d <= 0.01 * c) }' ||
  { echo "FAIL: cuda and cpu eval losses differ by more than 1 %"; exit 1; }
"$bin" replay --run "$work/ferret-np2-a" || { echo "FAIL: replay on the CPU differs from the GPU run"; exit 1; }
gpus=$(nvidia-smi -L | grep -c '^GPU ')
for algorithm in ferret fedavg; do
  for np in 1 2; do
    [ "$np" -le "$gpus" ] || continue
    out="$work/$algorithm-np$np-nccl"
    mpirun -np "$np" --oversubscribe "$bin" "${job[@]}" --rounds 3 --algorithm "$algorithm" --device cuda \
      --data-comm nccl --out "$out" >"$out.log" 2>&1 || { echo "FAIL: $algorithm np $np over NCCL"; cat "$out.log"; exit 1; }
    h5diff -q "$work/$algorithm-np$np-a/checkpoints/round_000003.h5" "$out/checkpoints/round_000003.h5" /params /params ||
      { echo "FAIL: $algorithm np $np: NCCL and MPI gave different parameters"; exit 1; }
    echo "$algorithm np $np: --data-comm nccl = mpi, bitwise"
  done
done
if [ "$gpus" -lt 2 ]; then
  mpirun -np 2 --oversubscribe "$bin" "${job[@]}" --rounds 1 --device cuda --data-comm nccl --out "$work/shared" \
    >"$work/shared.log" 2>&1 && { echo "FAIL: NCCL accepted two ranks on one GPU"; exit 1; }
  grep -q 'needs a GPU per rank' "$work/shared.log" || { echo "FAIL: no clear error for a shared GPU"; cat "$work/shared.log"; exit 1; }
fi
echo "PASS: --device cuda runs are reproducible and match the CPU"
