#!/usr/bin/env bash
# defines: the device half of a GPU check (run from the repo root on the lent GPU machine, after
# tests/gpu/pack.sh here): the CUDA kernel and NCCL tests, the CUDA benchmark, the --device cuda end
# to end test, and a timed round of a larger synthetic model on the GPU and on that machine's CPUs.
#   usage: tests/gpu/device_checks.sh [SECONDS]   (stops starting optional steps after SECONDS, default 420)
# Logs go to $OUT (the device tool brings them back): gpu.log, one summary line per step in summary.txt.
set -u
root=$(pwd) g=$(pwd)/.gpu budget=${1:-420}
out=${OUT:-/tmp/ferret-gpu-out}; mkdir -p "$out"
exec > >(tee -a "$out/gpu.log") 2>&1
t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }
result() { echo "$1 | $2 | $(elapsed) s" | tee -a "$out/summary.txt"; }
step() { echo; echo "== $1 (t = $(elapsed) s)"; }

step environment
nvidia-smi -L; ldd --version | head -n1; nproc
tp=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')
echo "device torch $(python3 -c 'import torch; print(torch.__version__)') at $tp"
nvlibs=$(ls -d "$(dirname "$tp")"/nvidia/*/lib "$(dirname "$tp")"/nvidia/*/lib64 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="$g/lib:$tp/lib:$nvlibs${LD_LIBRARY_PATH:-}"
# Open MPI where it was compiled to look (plugins, help texts, daemon for singletons).
mkdir -p /usr/lib/x86_64-linux-gnu/openmpi/lib
cp -a "$g/ompi/plugins" /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3
cp -a "$g/ompi/share" /usr/share/openmpi
install -m 755 "$g/ompi/mpirun" /usr/local/bin/mpirun
[ -e /usr/bin/orted ] || install -m 755 "$g/ompi/orted" /usr/bin/orted
export PATH="$g/bin:/usr/local/bin:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl_base_warn_component_unused=0
if ldd "$g/bin/ferret" | grep 'not found'; then result environment "FAIL: libraries missing"; exit 1; fi
ldd "$g/bin/ferret" | grep -E 'libtorch_cuda|libcudart|libnccl|libmpi\.'
result environment ok

step "test_cuda np 1 (every test)"
mpirun -np 1 --oversubscribe test_cuda && result test_cuda_np1 PASS || result test_cuda_np1 FAIL
step "test_cuda np 2 (kernels, NCCL)"
mpirun -np 2 --oversubscribe test_cuda --gtest_filter='CudaKernels.*:CudaParamKernels.*:NcclComm.*:CudaDevice.SelectHonoursSlurmLocalId' &&
  result test_cuda_np2 PASS || result test_cuda_np2 FAIL

step "ferret-bench-cuda"
ferret-bench-cuda 10000000 100000000 1000000000 | tee "$out/bench_cuda.txt" && result bench_cuda done || result bench_cuda FAIL

step "device_cuda.sh run"
bash tests/e2e/gpu/device_cuda.sh "$g/bin/ferret" "$root" run && result device_cuda_run PASS || result device_cuda_run FAIL

# Optional: one timed round of a ~90 M-parameter synthetic LLaMA, GPU against the machine's CPUs.
big=(--config configs/demo.ini --rounds 1 --num-clients 2 --local-steps 5 --batch-size 8 --eval-every 1 --eval-samples 16
     --rouge-samples 0 --checkpoint-every 0 --verify-every 0 --hidden-size 1024 --layers 8 --heads 16 --kv-heads 4
     --intermediate-size 2816 --k 4096)
for device in cuda cpu; do
  [ "$(elapsed)" -lt "$budget" ] || { result "big_round_$device" "skipped (time)"; continue; }
  step "one round, 90 M params, --device $device"
  TIMEFORMAT="wall %R s"
  time mpirun -np 1 ferret "${big[@]}" --device "$device" --threads "$(nproc)" \
    --out "/tmp/big-$device" && result "big_round_$device" done || result "big_round_$device" FAIL
done
echo; cat "$out/summary.txt"
