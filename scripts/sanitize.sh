#!/usr/bin/env bash
# Builds core, driver and command with ASan + UBSan in build-asan/ and runs the
# tests labelled "fast" there: all but real-scene training, the main-job
# timing test and QGIS (QGIS would load an instrumented library into an
# uninstrumented process).
#   bash scripts/sanitize.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BS3L_ASAN_BUILD:-$root/build-asan}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBS3L_SANITIZE=ON -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$build" -j"$(nproc)"
# Python processes that load the instrumented gdal_MATLAB.so need the ASan
# runtime first; leaks of the interpreter itself are not ours to report.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
cd "$build"
ctest --output-on-failure -L fast --timeout 1200
