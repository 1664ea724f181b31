#!/usr/bin/env bash
# Installs this build of sarseg into a temporary prefix, builds examples/ against the installed
# package as a separate project, and runs predict_scene on a synthetic scene with a tiny model.
#   install_and_run_example.sh BUILD_DIR EXAMPLES_DIR GENERATOR CXX_COMPILER [CCACHE]
# $CMAKE names the cmake program (default: cmake on the PATH).
set -euo pipefail

build_dir=$1
examples_dir=$2
generator=$3
cxx=$4
ccache=${5:-}
cmake=${CMAKE:-cmake}

work=$(mktemp -d "${TMPDIR:-/tmp}/sarseg_example_test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# (a) the package, as `cmake --install` lays it out.
"$cmake" --install "$build_dir" --prefix "$work/prefix" > "$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }
[ -n "$(find "$work/prefix" -name sarsegConfig.cmake)" ] || fail "no sarsegConfig.cmake installed"
test -f "$work/prefix/include/sarseg/build_config.h" || fail "no build_config.h installed"

# (b) the example, configured and built against the installed package only.
launcher=()
if [ -n "$ccache" ]; then
  # Paths below $work are relative in ccache's keys, so a rerun hits the cache.
  export CCACHE_BASEDIR="$work"
  export CCACHE_SLOPPINESS="include_file_mtime,include_file_ctime,time_macros"
  launcher=("-DCMAKE_CXX_COMPILER_LAUNCHER=$ccache")
fi
"$cmake" -S "$examples_dir" -B "$work/build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" "-DCMAKE_PREFIX_PATH=$work/prefix" "${launcher[@]}" \
  > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configuring examples/"; }
"$cmake" --build "$work/build" -j 2 > "$work/build.log" 2>&1 ||
  { cat "$work/build.log"; fail "building examples/"; }
example="$work/build/predict_scene"
test -x "$example" || fail "no predict_scene built"

# (c) a scene and a tiny model (random init, one short epoch on 64-px synthetic scenes).
sarseg="$work/prefix/bin/sarseg"
"$sarseg" synth --season melt --size 64x64 --count 1 --format tif --quiet \
  --out "$work/scenes"
scene=$(find "$work/scenes" -name '*.tif' ! -name '*_labels.tif' | head -n 1)
test -n "$scene" || fail "sarseg synth wrote no scene"
settings=(data.source=synthetic synth.seasons=melt synth.train_per_season=1
  synth.val_per_season=1 synth.test_per_season=0 synth.size=64 synth.label_mode=pixel
  data.patch_size=32 data.patches_per_scene=2 data.val_patches_per_scene=1
  data.min_valid_fraction=0.1 model.aspp_channels=16 train.batch_size=2 train.min_epochs=1
  train.max_epochs=1 output.progress=off "output.dir=$work/run")
train_args=()
for setting in "${settings[@]}"; do train_args+=(--set "$setting"); done
"$sarseg" --threads 2 --log-level warn train "${train_args[@]}" > "$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "sarseg train"; }

# (d) the example: quiet on success, the class map at the scene's size.
output=$("$example" "$work/run" "$scene" "$work/out" 2>&1) || fail "predict_scene: $output"
[ -z "$output" ] || fail "predict_scene printed: $output"
class_map=$(find "$work/out" -name '*_classes.tif')
[ "$(echo "$class_map" | wc -l)" -eq 1 ] && [ -n "$class_map" ] ||
  fail "expected one *_classes.tif in $work/out, found: $(ls "$work/out")"
if command -v gdalinfo > /dev/null; then
  size=$(gdalinfo "$class_map" | grep '^Size is') || true
  [ "$size" = "Size is 64, 64" ] || fail "class map is not 64 x 64: $size"
else
  size=$("$sarseg" scene info "$class_map" | grep '^size:') || true
  [[ "$size" == *" 64 x 64 pixels"* ]] || fail "class map is not 64 x 64: $size"
fi

# Bad input: exit 2 and one line.
set +e
message=$("$example" "$work/missing.ckpt" "$scene" "$work/out2" 2>&1)
code=$?
set -e
[ "$code" -eq 2 ] || fail "missing checkpoint: exit $code, expected 2 ($message)"
[ "$(echo "$message" | wc -l)" -eq 1 ] || fail "missing checkpoint: more than one line: $message"
echo "example built against the installed package; class map $class_map is 64 x 64"
