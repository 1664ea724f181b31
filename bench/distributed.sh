#!/usr/bin/env bash
# Data-parallel training throughput on this machine: 1 process x 2 threads, 1 x 1 and 2 processes
# x 1 thread (sarseg launch, Gloo on loopback), plus two independent 1 x 1 processes at once as a
# control, on the quick profile and the paper model, with
# `sarseg bench train` (real loader, Adam + clipping). train.batch_size is per process.
# Usage: bench/distributed.sh [BUILD_DIR] [STEPS]   (run it when nothing else runs)
set -euo pipefail
build=${1:-build}
steps=${2:-20}
sarseg="$build/sarseg"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sarseg:  $("$sarseg" --version)"
quick=(-c configs/train/quick.yaml)
paper=(-c configs/train/paper.yaml --set data.source=synthetic --set data.patch_size=256
       --set train.batch_size=8 --set synth.size=768 --set synth.seasons=[freeze-up,melt]
       --set synth.train_per_season=1 --set synth.val_per_season=1 --set synth.test_per_season=0
       --set data.patches_per_scene=40 --set data.min_valid_fraction=0.5)
for model in quick paper; do
  declare -n args=$model
  echo
  echo "== $model"
  for layout in "1x2" "1x1" "2x1"; do
    common=(bench train --steps "$steps" --warmup 3 "${args[@]}")
    case $layout in
      1x2) out=$("$sarseg" --threads 2 "${common[@]}" 2>/dev/null) ;;
      1x1) out=$("$sarseg" --threads 1 "${common[@]}" 2>/dev/null) ;;
      2x1) out=$("$sarseg" launch --nproc 2 --threads-per-process 1 -- "${common[@]}" 2>/dev/null) ;;
    esac
    echo "$layout: $(echo "$out" | grep -E '^(throughput|processes)' | tr -s ' ' | paste -sd ';')"
  done
  # Control: two independent 1x1 processes at once (no communication) show what sharing the
  # machine alone costs.
  a=$(mktemp)
  "$sarseg" --threads 1 "${common[@]}" 2>/dev/null | grep throughput > "$a" &
  b=$("$sarseg" --threads 1 "${common[@]}" 2>/dev/null | grep throughput)
  wait
  echo "2 independent 1x1: $(tr -s ' ' < "$a"); $(echo "$b" | tr -s ' ')"
  rm -f "$a"
done
