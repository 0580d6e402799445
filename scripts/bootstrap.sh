#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine: install what is missing, build, then
#   run   - run the main job (bs3lnet detect) on sample_data/
#   test  - run the whole test suite (ctest), then the fast tests under
#           ASan/UBSan (scripts/sanitize.sh) when time allows
set -euo pipefail
mode=${1:-run}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BS3L_BUILD_DIR:-$root/build}

pkgs=(build-essential cmake pkg-config libtorch-dev libgdal-dev gdal-bin libproj-dev libmatio-dev
      nlohmann-json3-dev libgtest-dev googletest libopenblas0-pthread python3-gdal python3-numpy)
if [ "$mode" = test ]; then
  # Independent checks in the tests (scipy/h5py read .mat files, sklearn AUC),
  # QGIS for the Processing provider tests (not needed by the main job), and
  # Slurm + MUNGE for the private one-node cluster of e2e_slurm.
  pkgs+=(python3-scipy python3-h5py python3-sklearn qgis python3-qgis qgis-providers slurm-wlm munge)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$build" -j"$(nproc)"

case "$mode" in
  run)
    out="$root/out"; mkdir -p "$out"
    "$build/plugin/bs3lnet" detect "$root/sample_data/scene.tif" "$out/scene_score.tif" \
      --truth "$root/sample_data/scene_truth.tif" --overwrite
    echo "Anomaly scores written to $out/scene_score.tif (open it in QGIS)."
    ;;
  test)
    (cd "$build" && ctest --output-on-failure --timeout 1200)
    # The sanitizer run needs its own build; it runs only while the whole
    # command can stay under BS3L_TEST_MINUTES (default 28), and a run cut
    # short by that limit is reported, not failed. BS3L_SANITIZE=0 skips it.
    left=$(( ${BS3L_TEST_MINUTES:-28} * 60 - SECONDS ))
    if [ "${BS3L_SANITIZE:-1}" = 0 ]; then
      echo "Sanitizer run skipped (BS3L_SANITIZE=0)."
    elif [ "$left" -lt 600 ]; then
      echo "Sanitizer run skipped: ${left} s left of ${BS3L_TEST_MINUTES:-28} min; run bash scripts/sanitize.sh"
    else
      echo "Sanitizer run (ASan + UBSan, tests labelled fast), at most ${left} s:"
      rc=0; timeout "$left" bash "$root/scripts/sanitize.sh" || rc=$?
      if [ "$rc" = 124 ]; then
        echo "Sanitizer run stopped at the time limit; run bash scripts/sanitize.sh"
      elif [ "$rc" != 0 ]; then
        exit "$rc"
      fi
    fi
    ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
