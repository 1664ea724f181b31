#!/usr/bin/env bash
# Sentinel-1 import benchmark (issue 16): a synthetic 10,000 x 10,000-pixel EW GRDM product with
# HH and HV (uncompressed UInt16 strips, as ESA delivers them: 2 x 200 MB) imported to an 80 m
# scene with two worker threads; prints wall seconds and peak RSS from /usr/bin/time -v.
# Usage: bench/s1_import.sh [--sarseg build/sarseg] [--work DIR] [--repeats N] [--zip] [--crs EPSG:3413]
set -euo pipefail
sarseg=build/sarseg
work=/tmp/sarseg_s1_bench
repeats=3
zip=""
crs=""
while (($#)); do
  case "$1" in
    --sarseg) sarseg="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --zip) zip="--zip"; shift ;;
    --crs) crs="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
product=$(ls -d "$work"/*.SAFE 2>/dev/null | head -1 || true)
if [[ -z "$product" || ( -n "$zip" && -z "$(ls "$work"/*.zip 2>/dev/null)" ) ]]; then
  rm -rf "$work"/*.SAFE "$work"/*.zip
  "$sarseg" s1 synth --out "$work" --mode EW --lines 10000 --samples 10000 --polarisations HH,HV $zip
  product=$(ls -d "$work"/*.SAFE | head -1)
fi
input="$product"
[[ -n "$zip" ]] && input=$(ls "$work"/*.zip | head -1)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) logical cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input: $input ($(du -sh "$input" | cut -f1))"
for i in $(seq "$repeats"); do
  out="$work/scene_$i.tif"
  /usr/bin/time -v "$sarseg" s1 import "$input" --out "$out" --jobs 2 ${crs:+--crs "$crs"} \
    >"$work/run_$i.log" 2>&1
  seconds=$(grep 'Elapsed (wall clock)' "$work/run_$i.log" | awk '{print $NF}')
  rss_kb=$(grep 'Maximum resident set size' "$work/run_$i.log" | awk '{print $NF}')
  cpu=$(grep 'Percent of CPU' "$work/run_$i.log" | awk '{print $NF}')
  echo "run $i: wall $seconds, peak RSS $((rss_kb / 1024)) MiB, CPU $cpu; $(grep '^scene:' "$work/run_$i.log" | tr -s " ")"
  grep '^wrote:' "$work/run_$i.log" | tr -s " "
  rm -f "$out"
done
