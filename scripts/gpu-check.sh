#!/usr/bin/env bash
# GPU check, for a machine with CUDA and a CUDA PyTorch but possibly no GDAL,
# PROJ, matio or internet: builds the core-only targets against the LibTorch
# inside that PyTorch, runs the core tests on CUDA (when GoogleTest is there),
# then the fast mode (fp32 and bf16 autocast) and the paper's protocol
# (1000 epochs; bf16 for BS3L_GPU_AMP_EPOCHS, default 200) on the synthetic
# 100x100x189 scene, printing times and AUCs.
#   bash scripts/gpu-check.sh            (PYTHON=... to pick the interpreter;
#   GTEST_SOURCE=dir builds GoogleTest from source where none is installed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BS3L_GPU_BUILD:-$root/build-gpu}
py=${PYTHON:-python3}
epochs=${BS3L_GPU_EPOCHS:-1000}
amp_epochs=${BS3L_GPU_AMP_EPOCHS:-200}

torch_dir=$("$py" -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))')
"$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "available:", torch.cuda.is_available())'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found"

tests=ON
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBS3L_CORE_ONLY=ON -DTorch_DIR="$torch_dir" \
  -DBS3L_TESTS=$tests -DBS3L_GTEST_SOURCE_DIR="${GTEST_SOURCE:-}" > "$build.configure.log" 2>&1 || {
  tail -5 "$build.configure.log"
  echo "configure with tests failed (no GoogleTest?); building without them"; tests=OFF
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBS3L_CORE_ONLY=ON -DTorch_DIR="$torch_dir" -DBS3L_TESTS=OFF
}
cmake --build "$build" -j"$(nproc)" --target bs3l_raw
if [ "$tests" = ON ] && cmake --build "$build" -j"$(nproc)" --target core_tests; then
  BS3L_TEST_DEVICE=cuda "$build/tests/core_tests" --gtest_brief=1 || echo "core tests on CUDA FAILED"
else
  echo "core tests not built (GoogleTest missing or built with another C++ ABI than this LibTorch)"
fi

scene=$(mktemp -d)
raw="$build/bench/bs3l_raw"
"$raw" synth "$scene" --size 100 --bands 189
timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "  wall %e s, peak RSS %M KB")
run() { echo "+ bs3l_raw detect ... $*"
        "${timer[@]}" "$raw" detect "$scene/cube.f32" 189 100 100 --truth "$scene/truth.u8" --device cuda "$@"; }
run --mode fast
run --mode fast --amp
run --mode fast --device cpu
run --mode faithful --epochs "$amp_epochs"
run --mode faithful --epochs "$amp_epochs" --amp
run --mode faithful --epochs "$epochs"
rm -rf "$scene"
