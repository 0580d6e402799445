#!/usr/bin/env bash
# GPU check, one prepared run for a machine with CUDA and a CUDA PyTorch but
# possibly no GDAL, PROJ, matio or internet (about 5 minutes on an H200):
#  - builds the core-only targets against the LibTorch inside that PyTorch
#    (CUDA graphs come with it) and runs the core tests on CUDA;
#  - on the synthetic 100x100x189 scene: the fast mode (fp32, bf16 --amp, and
#    the CPU), the paper's protocol for BS3L_GPU_EPOCHS (1000) epochs with the
#    step replayed as a CUDA graph, and a few epochs on the CPU, on CUDA op by
#    op (--no-cuda-graph) and as a graph, for seconds per epoch and AUCs;
#  - the same faithful epoch in PyTorch (bench/faithful_speed.py) on this GPU;
#  - every mode on a real scene (BS3L_GPU_REAL, bs3l_raw's layout; made by
#    bench/mat_to_raw.py from ../shared/data/had/hydice-ii.mat when scipy and
#    the file are there);
# then prints one table of seconds and AUCs.
#   bash scripts/gpu-check.sh   (PYTHON=... picks the interpreter;
#   GTEST_SOURCE=dir builds GoogleTest from source where none is installed)
# To try the script itself without a GPU: BS3L_GPU_DEVICE=cpu
# BS3L_TORCH_DIR=/usr/lib/x86_64-linux-gnu/cmake/Torch BS3L_GPU_SIZE=40
# BS3L_GPU_EPOCHS=1 BS3L_GPU_SHORT_EPOCHS=1 BS3L_GPU_REAL_EPOCHS=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BS3L_GPU_BUILD:-$root/build-gpu}
py=${PYTHON:-python3}
epochs=${BS3L_GPU_EPOCHS:-1000}
short=${BS3L_GPU_SHORT_EPOCHS:-3}
real=${BS3L_GPU_REAL:-$root/gpu-data/hydice-ii}
real_epochs=${BS3L_GPU_REAL_EPOCHS:-100}
dev=${BS3L_GPU_DEVICE:-cuda}
size=${BS3L_GPU_SIZE:-100}

torch_dir=${BS3L_TORCH_DIR:-$("$py" -c 'import os, torch; print(os.path.join(torch.utils.cmake_prefix_path, "Torch"))')} || exit 1
"$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "available:", torch.cuda.is_available())'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi not found"
echo "CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

tests=ON
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBS3L_CORE_ONLY=ON -DTorch_DIR="$torch_dir" \
  -DBS3L_TESTS=$tests -DBS3L_GTEST_SOURCE_DIR="${GTEST_SOURCE:-}" > "$build.configure.log" 2>&1 || {
  tail -5 "$build.configure.log"
  echo "configure with tests failed (no GoogleTest?); building without them"; tests=OFF
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBS3L_CORE_ONLY=ON -DTorch_DIR="$torch_dir" -DBS3L_TESTS=OFF
}
grep -q "CUDA graphs" "$build.configure.log" && echo "CUDA LibTorch: graphs built in" || echo "WARNING: LibTorch without CUDA"
cmake --build "$build" -j"$(nproc)" --target bs3l_raw || exit 1
echo "[${SECONDS} s] bs3l_raw built"
if [ "$tests" = ON ] && cmake --build "$build" -j"$(nproc)" --target core_tests; then
  BS3L_TEST_DEVICE=$dev "$build/tests/core_tests" --gtest_brief=1 --gtest_filter=-RealData.* || echo "core tests on CUDA FAILED"
else
  echo "core tests not built (GoogleTest missing or built with another C++ ABI than this LibTorch)"
fi
echo "[${SECONDS} s] core tests done"

raw="$build/bench/bs3l_raw"
synth=$(mktemp -d)
"$raw" synth "$synth" --size "$size" --bands 189
table=()
# run NAME DIR [options]: one bs3l_raw detect; its train seconds, wall and AUC make a table row.
run() {
  local name=$1 dir=$2; shift 2
  local b r c log; read -r b r c < "$dir/shape.txt"; log=$(mktemp)
  echo "+ bs3l_raw detect $(cat "$dir/name.txt" 2>/dev/null || echo synthetic) $*"
  local t0=$SECONDS
  "$raw" detect "$dir/cube.f32" "$b" "$r" "$c" --truth "$dir/truth.u8" --device "$dev" "$@" 2>&1 | tee "$log"
  local train auc
  train=$(sed -n 's/.* train \([0-9.]*\) s.*/\1/p' "$log"); auc=$(sed -n 's/^AUC \([0-9.]*\).*/\1/p' "$log")
  table+=("| $name | ${train:-failed} | $((SECONDS - t0)) | ${auc:--} |")
  last_train=${train:-nan}
  rm -f "$log"; echo "[${SECONDS} s]"
}
run "synthetic, fast (default), fp32" "$synth" --mode fast
run "synthetic, fast, bf16 (--amp)" "$synth" --mode fast --amp
run "synthetic, fast, CPU ($(nproc) cores)" "$synth" --mode fast --device cpu
run "synthetic, paper's protocol, $short epochs, CPU ($(nproc) cores)" "$synth" --protocol paper --epochs "$short" --device cpu
run "synthetic, paper's protocol, $short epochs, op by op (--no-cuda-graph)" "$synth" --protocol paper --epochs "$short" --no-cuda-graph
eager=$(awk "BEGIN { printf \"%.4f\", $last_train / $short }")
run "synthetic, paper's protocol, $short epochs, CUDA graph" "$synth" --protocol paper --epochs "$short"
run "synthetic, paper's protocol, $epochs epochs, CUDA graph" "$synth" --protocol paper --epochs "$epochs"
graph=$(awk "BEGIN { printf \"%.4f\", $last_train / $epochs }")

pt=$(cd "$root/bench" && "$py" faithful_speed.py --torch-only --device "$dev" --shape "189,$size,$size" --epochs 3 |
     sed -n 's/^pytorch_s_per_epoch //p')
table+=("| synthetic, paper's epoch in PyTorch (bench/faithful_speed.py), s per epoch | ${pt:-failed} | - | - |")
echo "[${SECONDS} s] PyTorch epoch: ${pt:-failed} s"
epoch_line="paper's epoch, ${size}x${size}x189, s: CUDA graph $graph (training time / $epochs, capture included), op by op $eager, PyTorch ${pt:-failed}; PyTorch / graph = $(awk "BEGIN { if ($graph > 0 && \"${pt:-0}\" + 0 > 0) printf \"%.1f\", ${pt:-0} / $graph; else print \"-\" }")"

if [ ! -f "$real/cube.f32" ] && [ -f "$root/../shared/data/had/hydice-ii.mat" ]; then
  "$py" "$root/bench/mat_to_raw.py" "$root/../shared/data/had/hydice-ii.mat" "$real" || echo "no scipy: no real scene"
fi
if [ -f "$real/cube.f32" ]; then
  name=$(cat "$real/name.txt" 2>/dev/null || basename "$real")
  run "$name, fast (default), fp32" "$real" --mode fast
  run "$name, fast, bf16 (--amp)" "$real" --mode fast --amp
  run "$name, fast, CPU ($(nproc) cores)" "$real" --mode fast --device cpu
  run "$name, faithful (min-max scaling), $real_epochs epochs, CUDA graph" "$real" --mode faithful --epochs "$real_epochs"
  run "$name, paper's protocol, $real_epochs epochs, CUDA graph" "$real" --protocol paper --epochs "$real_epochs"
else
  echo "no real scene at $real (make one with bench/mat_to_raw.py, or set BS3L_GPU_REAL)"
fi
rm -rf "$synth"

echo
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
echo "$epoch_line"
echo
echo "| run | train s | wall s | AUC |"
echo "|---|---|---|---|"
printf '%s\n' "${table[@]}"
echo "GPU check finished in ${SECONDS} s"
