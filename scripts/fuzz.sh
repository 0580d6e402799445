#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 600) from the committed seed corpora:
#   matlab  the .mat driver's open/read path   (gdal_driver/fuzz/seeds)
#   args    the command-line and band-list parsers (plugin/fuzz/seeds/args)
#   envi    ENVI list values and "map info"       (plugin/fuzz/seeds/envi)
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
secs=${1:-600}; shift || true
targets=("${@:-matlab args envi}")
root=$(cd "$(dirname "$0")/.." && pwd)
out=${BS3L_FUZZ_DIR:-$root/build-fuzz}

CC=clang CXX=clang++ cmake -S "$root/gdal_driver/fuzz" -B "$out/driver" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$out/driver" -j"$(nproc)" > /dev/null
CC=clang CXX=clang++ cmake -S "$root/plugin/fuzz" -B "$out/parsers" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$out/parsers" -j"$(nproc)" > /dev/null

# matio allocates whatever a corrupt header claims; such mallocs fail here as
# they would under a memory limit (see gdal_driver/README.md).
export ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=512:quarantine_size_mb=32:detect_leaks=0
status=0
for t in ${targets[*]}; do
  case $t in
    matlab) exe=$out/driver/matlab_fuzzer; seeds=$root/gdal_driver/fuzz/seeds ;;
    args|envi) exe=$out/parsers/${t}_fuzzer; seeds=$root/plugin/fuzz/seeds/$t ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  corpus=$out/corpus/$t; mkdir -p "$corpus" "$out/artifacts"
  cp -n "$seeds"/* "$corpus"/
  echo "== $t: ${secs}s from $(ls "$seeds" | wc -l) seeds"
  if "$exe" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
       -artifact_prefix="$out/artifacts/$t-" "$corpus" > "$out/$t.log" 2>&1; then
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)" "$out/$t.log"
    echo "corpus: $(ls "$corpus" | wc -l) files; no crash"
  else
    status=1; grep -E "ERROR|SUMMARY|Test unit written" "$out/$t.log" | head -5
  fi
done
exit $status
