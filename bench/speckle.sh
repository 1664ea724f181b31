#!/usr/bin/env bash
# Speckle filters (issue 15): `sarseg bench speckle` at the looks given (default 4 and 16, the
# simulator's default), every filter: ENL of a homogeneous field and of a simulated scene's
# homogeneous areas, ratio-image mean, edge retention at a 10 dB step, Mpx/s on a simulated scene.
# Then `sarseg filter` on a 1000 x 1000 scene file, end to end (read, filter both bands, write).
# Usage: bench/speckle.sh [--sarseg build/sarseg] [--looks "4 16"] [--threads 0] [--work DIR]
set -euo pipefail
sarseg=build/sarseg
looks="4 16"
threads=0
work=/tmp/sarseg_speckle_bench
while (($#)); do
  case "$1" in
    --sarseg) sarseg="$2"; shift 2 ;;
    --looks) looks="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$work"
date -u +"%Y-%m-%d %H:%M UTC"
for l in $looks; do
  echo
  "$sarseg" bench speckle --looks "$l" --filter-threads "$threads" --json "$work/speckle_L$l.json"
done
echo
rm -rf "$work/scene"
"$sarseg" --log-level warn synth --size 1000x1000 --count 1 --format tif --out "$work/scene" >/dev/null
scene=$(ls "$work"/scene/*_prep.tif | head -1)
for f in boxcar lee enhanced_lee refined_lee frost gamma_map; do
  "$sarseg" filter "$scene" --out "$work/filtered_$f.tif" --filter "$f" --filter-threads "$threads"
done
