#!/usr/bin/env bash
# Fast-mode AUC per input scaling (--normalize none|minmax|zscore) on the
# real scenes, one seed: the measurement behind detect's default.
#   bash bench/normalize_study.sh [seed] > bench/results/normalize.md
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exe=${BS3LNET:-$root/build/plugin/bs3lnet}
had=${BS3L_HAD_DIR:-$root/../shared/data/had}
seed=${1:-1}
[ -d "$had" ] || { echo "$had not found: nothing to measure" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
export GDAL_DRIVER_PATH=${GDAL_DRIVER_PATH:-$root/build/gdal_driver}
echo "Fast mode, seed $seed, threads 2, $(nproc) cores, $(date -u +%F)."
echo
echo "| scene | none | minmax | zscore |"
echo "|---|---|---|---|"
for s in abu-airport-1 abu-airport-2 abu-airport-4 hydice-ii sandiego_plane aviris-i; do
  row="| \`$s.mat\`"
  for n in none minmax zscore; do
    auc=$("$exe" detect "$had/$s.mat" "$out/s.tif" --score mse --normalize "$n" --seed "$seed" --threads 2 -q --overwrite |
          sed -n 's/^AUC \([0-9.]*\).*/\1/p')
    row="$row | ${auc:-error}"
  done
  echo "$row |"
done
