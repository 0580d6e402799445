#!/usr/bin/env bash
# Submits a bs3lnet campaign to Slurm: an optional training job, one array
# task per scene or per tile (task.sh), then a gdalbuildvrt mosaic job.
# Rerunning the same command resubmits only the tasks whose outputs are missing.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: campaign.sh -o DIR [options] SCENE... [-- BS3LNET_OPTIONS]
  -o, --out DIR       campaign folder: outputs, tasks.tsv, logs/, mosaic.vrt
  --train SCENE       train the model on SCENE first, as its own job (skipped
                      when the model exists)
  --train-args ARGS   options of bs3lnet train, split on spaces ("--steps 300")
  --model FILE        the model (default with --train: DIR/model.pt); without
                      one, each scene trains its own (bs3lnet detect)
  --tile N            one task per N x N tile of the single SCENE (needs a model)
  --cpus N            CPUs per task, given to bs3lnet as --threads (default 1)
  --max-parallel K    at most K array tasks at once
Options after -- go to every bs3lnet apply (or detect). Partition, time limit,
account, GPUs: sbatch's own variables (SBATCH_PARTITION, SBATCH_TIMELIMIT,
SBATCH_ACCOUNT, SBATCH_GRES, ...). bs3lnet: $BS3LNET, else bs3lnet on PATH.
EOF
}
die() { echo "campaign.sh: $*" >&2; exit 2; }

out="" train="" train_args="" model="" tile="" cpus=1 max_parallel=""
scenes=() args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--out) out=$2; shift 2 ;;
    --train) train=$2; shift 2 ;;
    --train-args) train_args=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --tile) tile=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --max-parallel) max_parallel=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; args=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) scenes+=("$1"); shift ;;
  esac
done
if [ -z "$out" ] || [ ${#scenes[@]} -eq 0 ]; then usage >&2; exit 2; fi
[ -z "$tile" ] || [ ${#scenes[@]} -eq 1 ] || die "--tile takes exactly one scene"
for v in "${tile:-1}" "$cpus" "${max_parallel:-1}"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "--tile, --cpus and --max-parallel take positive integers, not $v"
done

here=$(cd "$(dirname "$0")" && pwd)
bs3lnet=${BS3LNET:-bs3lnet}
out=$(realpath -s -m "$out")
[ -z "$train" ] || model=${model:-$out/model.pt}
[ -z "$model" ] || model=$(realpath -s -m "$model")
[ -n "$model" ] || [ -z "$tile" ] || die "--tile needs --model or --train"
[ -z "$model" ] || [ -n "$train" ] || [ -e "$model" ] || die "no model $model (give --train SCENE)"
[ -z "$train" ] || [ -e "$train" ] || die "no such scene: $train"

# A campaign's tasks must not run twice at once: refuse while any is queued.
if [ -s "$out/jobs" ]; then
  queued=$(squeue -h -o %i -j "$(paste -sd, "$out/jobs")" 2>/dev/null || true)
  [ -z "$queued" ] || die "jobs of $out still queued or running: ${queued//$'\n'/ }; wait or scancel them"
fi

# The task list: output, input, srcwin ("XOFF YOFF XSIZE YSIZE" or empty).
mkdir -p "$out/logs"
: > "$out/tasks.tsv"
declare -A seen=()
for s in "${scenes[@]}"; do
  [ -e "$s" ] || die "no such scene: $s"
  s=$(realpath -s "$s")
  stem=$(basename "$s")
  stem=${stem%.*}
  if [ -z "$tile" ]; then
    [ -z "${seen[$stem]:-}" ] || die "$s and ${seen[$stem]} would both write $stem.tif"
    seen[$stem]=$s
    printf '%s\t%s\t\n' "$out/$stem.tif" "$s" >> "$out/tasks.tsv"
    continue
  fi
  read -r w h < <(gdalinfo "$s" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)$/\1 \2/p') || true
  [ -n "${h:-}" ] || die "gdalinfo cannot read the size of $s"
  for ((y = 0; y < h; y += tile)); do
    for ((x = 0; x < w; x += tile)); do
      printf '%s\t%s\t%d %d %d %d\n' "$out/${stem}_${x}_${y}.tif" "$s" "$x" "$y" \
        $((x + tile < w ? tile : w - x)) $((y + tile < h ? tile : h - y)) >> "$out/tasks.tsv"
    done
  done
done
: > "$out/args.txt"
[ ${#args[@]} -eq 0 ] || printf '%s\n' "${args[@]}" > "$out/args.txt"
cut -f1 "$out/tasks.tsv" > "$out/outputs.txt"

# Only the tasks whose outputs are missing, as ranges: 0-4,7,9-12.
n=$(wc -l < "$out/tasks.tsv")
todo=$(cut -f1 "$out/tasks.tsv" | while read -r f; do [ -e "$f" ] && echo 1 || echo 0; done |
  awk 'function flush() { if (s != "") r = r (r == "" ? "" : ",") s (e > s ? "-" e : "") }
       $1 == 0 { i = NR - 1; if (s != "" && i == e + 1) e = i; else { flush(); s = e = i } }
       END { flush(); print r }')

submit() { local id; id=$(sbatch --parsable "$@") || return; echo "${id%%;*}"; }
: > "$out/jobs"
dep=()
if [ -n "$train" ] && [ ! -e "$model" ] && [ -n "$todo" ]; then
  read -r -a targs <<< "$train_args"
  id=$(submit --job-name=bs3l-train --cpus-per-task="$cpus" --output="$out/logs/%x-%j.log" \
    --wrap "$(printf '%q ' "$bs3lnet" train "$(realpath -s "$train")" "$model" --threads "$cpus" "${targs[@]}")")
  echo "$id" >> "$out/jobs"; echo "train job $id: $model"
  dep=(--dependency="afterok:$id" --kill-on-invalid-dep=yes)
fi
if [ -n "$todo" ]; then
  id=$(submit --job-name=bs3l-task --cpus-per-task="$cpus" --output="$out/logs/%x-%A_%a.log" \
    --array="$todo${max_parallel:+%$max_parallel}" "${dep[@]}" "$here/task.sh" "$out" "$model")
  echo "$id" >> "$out/jobs"; echo "array job $id: tasks $todo of 0-$((n - 1))"
  dep=(--dependency="afterok:$id" --kill-on-invalid-dep=yes)
else
  echo "all $n outputs exist"
fi
id=$(submit --job-name=bs3l-mosaic --output="$out/logs/%x-%j.log" "${dep[@]}" \
  --wrap "$(printf '%q ' gdalbuildvrt -overwrite -input_file_list "$out/outputs.txt" "$out/mosaic.vrt")")
echo "$id" >> "$out/jobs"; echo "mosaic job $id: $out/mosaic.vrt"
