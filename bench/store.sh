#!/usr/bin/env bash
# Scene-store benchmark (issue 12): training on 16, 32 and 64 AI4Arctic-format 5000 x 5000 scenes
# written by `sarseg synth`, read by window from a scene store: peak RSS and data-wait share of
# `sarseg bench train`; store preparation speed and disk per scene; the peak RSS of the in-memory
# path for comparison; window reads from the store against netCDF hyperslabs and GeoTIFF RasterIO.
#
# Usage: bench/store.sh BUILD_DIR WORK_DIR STEP [ARGS]
# Each step is short enough to run alone under the build lock of a shared machine; run them in
# this order (synth in chunks):
#   synth FIRST COUNT   training scenes FIRST .. FIRST+COUNT-1 of 64 (seeds 1000+k; FIRST 0 also
#                       writes the validation scene, seed 999) into WORK_DIR/scenes
#   lists               WORK_DIR/train{16,32,64}.txt and val.txt
#   prepare N           `sarseg data prepare` of the first N training scenes (+ validation)
#   train-store N [FLAGS]  `sarseg bench train` on N stored scenes (FLAGS go to it, for example
#                       --precision auto)
#   train-memory N      the same with the scenes in memory (today's path); killed when its RSS
#                       passes LIMIT_GIB (default 18) so that the machine survives
#   windows             `sarseg bench windows` on the first training scene
#   eval                a one-epoch `sarseg train` on the 16 stored scenes, then `sarseg eval` and
#                       `sarseg predict` of the 5000 x 5000 validation scene (peak RSS of each)
#   clean               removes WORK_DIR
# Peak RSS is /usr/bin/time's maximum resident set size of the whole process.
# CONFIG (default bench/store_train.yaml, 80 m) chooses the training config and STORE (default
# WORK_DIR/store) the store folder: bench/store_train_x10.yaml is the 800 m run with all 17 inputs.
set -euo pipefail
build=$1
work=$2
step=$3
shift 3
sarseg="$build/sarseg"
# bench/RESULTS.md's figures were measured with glibc's mmap threshold fixed at 4 MiB: training
# peaks 0.2-0.3 GiB lower, at a slower step (page faults). THRESHOLD=dynamic keeps glibc's default.
if [ "${THRESHOLD:-4194304}" != dynamic ]; then
  export MALLOC_MMAP_THRESHOLD_=${THRESHOLD:-4194304}
fi
config=${CONFIG:-bench/store_train.yaml}
store=${STORE:-$work/store}
steps=${STEPS:-6}
warmup=${WARMUP:-2}

header() {
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(free -g | awk '/Mem:/ {print $2}') GiB RAM"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Runs a command under /usr/bin/time and prints its peak RSS in GiB.
peak_rss() {
  local log
  log=$(mktemp)
  /usr/bin/time -f '%M' -o "$log" "$@"
  awk '{printf "peak RSS       %.2f GiB\n", $1 / 1048576}' "$log"
  rm -f "$log"
}

case $step in
  synth)
    first=$1
    count=$2
    mkdir -p "$work/scenes/train" "$work/scenes/val"
    header
    start=$(date +%s)
    if [ "$first" = 0 ]; then
      "$sarseg" synth --size 5000x5000 --seed 999 --count 1 --out "$work/scenes/val" --quiet
    fi
    "$sarseg" synth --size 5000x5000 --seed $((1000 + first)) --count "$count" \
      --prefix "$(printf 'k%02d_' "$first")" --out "$work/scenes/train" --quiet
    echo "synth: $count scenes in $(( $(date +%s) - start )) s;" \
      "$(du -sh "$work/scenes/train" | cut -f1) in $work/scenes/train"
    ;;
  lists)
    ls "$work"/scenes/train/*.nc | sort > "$work/all.txt"
    for n in 4 8 12 16 32 64; do head -n "$n" "$work/all.txt" > "$work/train$n.txt"; done
    ls "$work"/scenes/val/*.nc > "$work/val.txt"
    wc -l "$work"/train*.txt "$work/val.txt"
    ;;
  prepare)
    n=$1
    header
    peak_rss "$sarseg" data prepare "$work/train$n.txt" "$work/val.txt" --out "$store" \
      -c "$config"
    ;;
  train-store)
    n=$1
    shift
    header
    echo "training on $n stored scenes"
    peak_rss "$sarseg" bench train -c "$config" --steps "$steps" --warmup "$warmup" \
      --set "data.train=[$work/train$n.txt]" --set "data.val=[$work/val.txt]" \
      --set "data.store=$store" --set data.store_prepare=false "$@"
    ;;
  train-memory)
    n=$1
    shift
    limit_kib=$(( ${LIMIT_GIB:-18} * 1048576 ))
    header
    echo "training on $n scenes in memory (killed above ${LIMIT_GIB:-18} GiB RSS)"
    log=$(mktemp)
    /usr/bin/time -f '%M' -o "$log" "$sarseg" bench train -c "$config" --steps "$steps" \
      --warmup "$warmup" --set "data.train=[$work/train$n.txt]" \
      --set "data.val=[$work/val.txt]" "$@" &
    timer=$!
    # The watchdog: the RSS of sarseg (the child of time).
    while kill -0 "$timer" 2>/dev/null; do
      child=$(pgrep -P "$timer" || true)
      if [ -n "$child" ]; then
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
        if [ "${rss:-0}" -gt "$limit_kib" ]; then
          echo "RSS $((rss / 1048576)) GiB passed the limit: killed (does not survive)"
          kill -9 "$child"
        fi
      fi
      sleep 1
    done
    wait "$timer" || echo "exit status $?"
    awk '{printf "peak RSS       %.2f GiB\n", $1 / 1048576}' "$log"
    rm -f "$log"
    ;;
  windows)
    header
    "$sarseg" bench windows "$(head -n 1 "$work/all.txt")" --store "$store" -c "$config" \
      --count "${COUNT:-100}"
    ;;
  eval)
    header
    run="$work/run_$(basename "$config" .yaml)"
    rm -rf "$run"
    peak_rss "$sarseg" train -c "$config" --set "data.train=[$work/train16.txt]" \
      --set "data.val=[$work/val.txt]" --set "data.store=$store" --set data.store_prepare=false \
      --set train.max_epochs=1 --set train.min_epochs=1 --set "output.dir=$run" --set output.progress=off
    echo "sarseg eval of $(cat "$work/val.txt")"
    peak_rss "$sarseg" eval "$(cat "$work/val.txt")" --checkpoint "$run" --out "$run/eval"
    echo "sarseg predict of the same scene"
    peak_rss "$sarseg" predict "$(cat "$work/val.txt")" --checkpoint "$run" --out "$run/predict"
    ;;
  clean)
    rm -rf "$work"
    ;;
  *)
    echo "unknown step '$step'" >&2
    exit 2
    ;;
esac
