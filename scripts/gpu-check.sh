#!/usr/bin/env bash
# GPU check, for a machine with CUDA and a CUDA PyTorch but possibly no GDAL,
# PROJ, matio or internet: builds the core-only targets against the LibTorch
# inside that PyTorch, runs the core tests on CUDA (when GoogleTest is there),
# then the fast mode (fp32, bf16 autocast, and CPU for comparison) and the
# paper's protocol (BS3L_GPU_EPOCHS, default 1000) on the synthetic
# 100x100x189 scene, printing times, AUCs and the seconds since the start.
# BS3L_GPU_AMP_EPOCHS=N adds faithful runs of N epochs in fp32 and bf16 (off
# by default: on an H200, 200 epochs took 98.8 s in fp32 and 108.9 s in bf16).
#   bash scripts/gpu-check.sh            (PYTHON=... to pick the interpreter;
#   GTEST_SOURCE=dir builds GoogleTest from source where none is installed)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BS3L_GPU_BUILD:-$root/build-gpu}
py=${PYTHON:-python3}
epochs=${BS3L_GPU_EPOCHS:-1000}
amp_epochs=${BS3L_GPU_AMP_EPOCHS:-0}

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
echo "[${SECONDS} s] bs3l_raw built"
if [ "$tests" = ON ] && cmake --build "$build" -j"$(nproc)" --target core_tests; then
  BS3L_TEST_DEVICE=cuda "$build/tests/core_tests" --gtest_brief=1 || echo "core tests on CUDA FAILED"
else
  echo "core tests not built (GoogleTest missing or built with another C++ ABI than this LibTorch)"
fi
echo "[${SECONDS} s] core tests done"

scene=$(mktemp -d)
raw="$build/bench/bs3l_raw"
"$raw" synth "$scene" --size 100 --bands 189
timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "  wall %e s, peak RSS %M KB")
run() { echo "+ bs3l_raw detect ... $*"
        "${timer[@]}" "$raw" detect "$scene/cube.f32" 189 100 100 --truth "$scene/truth.u8" --device cuda "$@"
        echo "[${SECONDS} s]"; }
run --mode fast
run --mode fast --amp
run --mode fast --device cpu
run --protocol paper --epochs "$epochs"
if [ "$amp_epochs" -gt 0 ]; then
  run --protocol paper --epochs "$amp_epochs"
  run --protocol paper --epochs "$amp_epochs" --amp
fi
rm -rf "$scene"
echo "GPU check finished in ${SECONDS} s"
