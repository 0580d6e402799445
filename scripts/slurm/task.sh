#!/usr/bin/env bash
# One array task of a campaign (submitted by campaign.sh): scores line
# SLURM_ARRAY_TASK_ID + 1 of DIR/tasks.tsv (output, input, srcwin) with
# bs3lnet apply MODEL, or bs3lnet detect when no model is given.
#   task.sh DIR [MODEL]
set -euo pipefail
dir=$1 model=${2:-}
IFS=$'\t' read -r out in srcwin < <(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$dir/tasks.tsv")
# bs3lnet writes a temp file and renames it, so an existing output is
# complete: a rerun never redoes finished work.
if [ -e "$out" ]; then
  echo "$out exists: skipped"
  exit 0
fi
mapfile -t args < "$dir/args.txt"
bs3lnet=${BS3LNET:-bs3lnet}
threads=(--threads "${SLURM_CPUS_PER_TASK:-1}")
if [ -z "$model" ]; then
  exec "$bs3lnet" detect "$in" "$out" "${threads[@]}" "${args[@]}"
fi
win=()
if [ -n "$srcwin" ]; then
  read -r -a xywh <<< "$srcwin"
  win=(-srcwin "${xywh[@]}")
fi
exec "$bs3lnet" apply "$model" "$in" "$out" "${win[@]}" "${threads[@]}" "${args[@]}"
