#!/usr/bin/env bash
# defines: the host half of a GPU check: builds ferret, test_cuda and ferret-bench-cuda here against
# the device image's LibTorch version, and packs them with the runtime libraries that image lacks.
#
# Why build here: the device image has nvcc and PyTorch but no Open MPI, HDF5 or Boost, and its torch
# (2.11.0+cu130 when this was written) is not our pinned wheel, so our build/ cannot run there, and a
# LibTorch is far over the 64 MiB a device call may carry. So we compile against the headers of the
# device's torch version (its PyPI wheel, downloaded once here) and, there, load that image's own
# libtorch*/CUDA/NCCL libraries; Open MPI, HDF5 and Boost travel from this machine in .gpu/.
#   usage: tests/gpu/pack.sh [TORCH_VERSION]      (then: the device tool's run, see tests/gpu/README.md)
# Environment: FERRET_GPU_BUILD (default /tmp/ferret-gpu-build), FERRET_GPU_TORCH (default /tmp/ferret-gpu-torch)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
version=${1:-2.11.0}
torch_dir=${FERRET_GPU_TORCH:-/tmp/ferret-gpu-torch}/$version
build=${FERRET_GPU_BUILD:-/tmp/ferret-gpu-build}
pack=$root/.gpu

if [ ! -f "$torch_dir/torch/share/cmake/Torch/TorchConfig.cmake" ]; then
  mkdir -p "$torch_dir"
  python3 -m pip download -q --no-deps --only-binary=:all: "torch==$version" -d "$torch_dir"
  unzip -q -o "$torch_dir"/torch-"$version"-*.whl 'torch/lib/*' 'torch/include/*' 'torch/share/*' -d "$torch_dir"
fi
# -march=native off: the device's CPU is not this one. --allow-shlib-undefined: the torch wheel's
# libraries need CUDA-side ones (nvshmem, cuDNN, ...) that only the device has; they resolve there.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_dir/torch/share/cmake" \
      -DFERRET_NATIVE=OFF -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "${FERRET_JOBS:-2}" --target ferret test_cuda ferret-bench-cuda

rm -rf "$pack"; mkdir -p "$pack/bin" "$pack/lib" "$pack/ompi"
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
for b in "$build/ferret" "$build/tests/test_cuda" "$build/src/cuda/ferret-bench-cuda" /usr/bin/h5diff; do
  cp "$b" "$pack/bin/" && strip "$pack/bin/$(basename "$b")"
done
# Open MPI at the paths it was compiled for (plugins, help texts, launcher, daemon): device_checks.sh
# copies them there. Debian's /usr/bin/mpirun is a chain of links to orterun.
ompi=/usr/lib/x86_64-linux-gnu/openmpi
cp -a "$ompi/lib/openmpi3" "$pack/ompi/plugins"
cp -a /usr/share/openmpi "$pack/ompi/share"
cp "$(readlink -f /usr/bin/mpirun)" "$pack/ompi/mpirun"; cp "$(readlink -f /usr/bin/orted)" "$pack/ompi/orted"
# Every shared library our binaries, the launcher and the plugins load, except the C/C++ runtime and
# what the device's torch and CUDA wheels provide (those must be the device's own).
device_provided='^(libc|libm|libdl|libpthread|librt|libresolv|libutil|libanl|libnsl|libcrypt|libmvec|libstdc\+\+|libgcc_s|ld-linux-x86-64|libtorch.*|libc10.*|libgomp|libcuda|libcudart|libcublas.*|libcufft|libcurand|libcusparse.*|libcusolver|libnvrtc.*|libnvJitLink|libnccl|libcudnn.*|libnvToolsExt|libcupti|libnvshmem.*|libcufile.*|libshm|libcaffe2_nvrtc|libtorch_global_deps)[.-]'
{ ldd "$pack"/bin/* "$pack/ompi/mpirun" "$pack/ompi/orted"; find "$pack/ompi/plugins" -name '*.so' -exec ldd {} +; } 2>/dev/null |
  awk '/=> \// { print $1, $3 }' | sort -u | while read -r name path; do
    [[ $name =~ $device_provided ]] && continue
    cp -L -n "$path" "$pack/lib/$name"
  done
du -sh "$pack"
echo "packed $(ls "$pack/lib" | wc -l) libraries; now run tests/gpu/device_checks.sh on the device with carry [.gpu]"
