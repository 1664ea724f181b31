#!/usr/bin/env bash
# One prepared run on a GPU machine (H100 / H200; the torch wheel's LibTorch with CUDA, nvcc,
# CMake; no GDAL, netCDF, network or apt): probe, build, GPU tests, benchmarks against the Python
# reference on the same GPU, the GPU's bf16 matrix rate. Writes summary.md / summary.json and logs
# to OUT_DIR and prints the summary last. Every step has a time limit; a failed step is recorded
# and the later steps that do not need it still run.
#
#   bench/gpu.sh [OUT_DIR]          OUT_DIR defaults to $OUT, else ./gpu-out
#
# Environment: SARSEG_GPU_BUDGET   seconds for the whole script (default 540)
#              SARSEG_GPU_DEPS     staged dependency root (default .gpu-deps/root: Debian packages
#                                  of yaml-cpp, CLI11, spdlog, fmt, nlohmann-json, GTest, libpng,
#                                  libzip, OpenSSL unpacked with dpkg -x; used when present)
#              PYTHON              interpreter holding torch (default python3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT_DIR=${1:-${OUT:-$ROOT/gpu-out}}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
BUDGET=${SARSEG_GPU_BUDGET:-540}
DEPS=${SARSEG_GPU_DEPS:-$ROOT/.gpu-deps/root}
PYTHON=${PYTHON:-python3}
BUILD=$ROOT/build-gpu
SARSEG=$BUILD/sarseg
if [[ -d /usr/local/cuda/bin ]]; then
  export PATH=$PATH:/usr/local/cuda/bin CUDAToolkit_ROOT=${CUDAToolkit_ROOT:-/usr/local/cuda}
fi
export ROOT OUT_DIR DEPS PYTHON BUILD SARSEG
LOG=$OUT_DIR/log.txt
SUMMARY_JSON=$OUT_DIR/summary.json
: >"$LOG"
STEPS_TSV=$(mktemp)
export PYTHONUNBUFFERED=1

say() { echo "[gpu.sh $(date -u +%H:%M:%S) +${SECONDS}s] $*" | tee -a "$LOG" >&2; }

# run_step NAME MAX_SECONDS LOGFILE COMMAND...: runs COMMAND under a timeout that also respects
# the remaining budget (keeping 20 s for the summary), records status and time, never exits.
run_step() {
  local name=$1 max=$2 logfile=$3
  shift 3
  local remaining=$((BUDGET - SECONDS - 20))
  local limit=$((max < remaining ? max : remaining))
  if ((limit < 5)); then
    say "$name: skipped (budget spent)"
    printf '%s\tskipped\t0\tbudget spent\n' "$name" >>"$STEPS_TSV"
    return 1
  fi
  say "$name: start (limit ${limit}s): $*"
  local start=$SECONDS status=0
  # bash -c so that COMMAND may be one of the exported functions below.
  timeout --signal=TERM --kill-after=10 "$limit" bash -c '"$@"' run_step "$@" >>"$logfile" 2>&1 ||
    status=$?
  local took=$((SECONDS - start))
  local state=ok note=""
  if ((status == 124 || status == 137)); then
    state=timeout note="over ${limit}s"
  elif ((status != 0)); then
    state=failed note="exit $status: $(grep -v '^\s*$' "$logfile" | tail -n 1 | cut -c1-160 | tr '\t' ' ')"
  fi
  say "$name: $state in ${took}s ${note}"
  printf '%s\t%s\t%s\t%s\n' "$name" "$state" "$took" "$note" >>"$STEPS_TSV"
  [[ $state == ok ]]
}

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "0" "$3" >>"$STEPS_TSV"; }

# ---- summary, written whatever happens ---------------------------------------------------------
write_summary() {
  set +e
  "$PYTHON" - "$STEPS_TSV" "$OUT_DIR" "$SUMMARY_JSON" <<'PY' || cp "$STEPS_TSV" "$OUT_DIR/summary.md"
import json, os, sys
steps_tsv, out_dir, summary_json = sys.argv[1:4]
steps = []
for line in open(steps_tsv):
    name, state, seconds, note = (line.rstrip("\n").split("\t") + ["", "", "", ""])[:4]
    steps.append({"step": name, "state": state, "seconds": int(seconds or 0), "note": note})
def load(name):
    try:
        return json.load(open(os.path.join(out_dir, name)))
    except Exception:
        return None
env, peak, py_peak, compare = (load(n) for n in ("env.json", "peak.json", "python_peak.json",
                                                  "compare.json"))
reference_bf16 = []
try:
    reference_bf16 = [json.loads(l) for l in open(os.path.join(out_dir, "reference_bf16.jsonl"))
                      if l.strip().startswith("{")]
except Exception:
    pass
summary = {"steps": steps, "environment": env, "sarseg_peak": peak, "python_peak": py_peak,
           "compare_table": (compare or {}).get("table"), "reference_bf16": reference_bf16}
json.dump(summary, open(summary_json, "w"), indent=1)
md = ["# sarseg on the GPU machine (bench/gpu.sh)", ""]
if env:
    md.append(f"- GPU: {env.get('gpu')}; driver {env.get('driver')}; torch {env.get('torch')} "
              f"(CUDA {env.get('torch_cuda')}); nvcc {env.get('nvcc')}; cmake {env.get('cmake')}")
    md.append(f"- host: {env.get('cpu')}; date {env.get('date')}")
    missing = [k for k, v in env.get("dependencies", {}).items() if v == "missing"]
    md.append("- dependencies: " + ", ".join(f"{k}={v}" for k, v in env.get("dependencies", {}).items()))
    if missing:
        md.append(f"- MISSING: {', '.join(missing)}")
md += ["", "| step | state | seconds | note |", "|---|---|---|---|"]
md += [f"| {s['step']} | {s['state']} | {s['seconds']} | {s['note'].replace('|', '/')} |" for s in steps]
if py_peak:
    md += ["", "GPU matrix rate through the torch wheel (Python): " + ", ".join(
        f"{c['dtype']} {c['shape']}: {c['tflops']:.0f} TFLOP/s" for c in py_peak.get("cases", []))]
if peak:
    md += ["", "`sarseg bench peak --device cuda`: " + ", ".join(
        f"{p['dtype']} {p['gflops'] / 1000:.0f} TFLOP/s ({p['shape']})" for p in peak.get("peaks", []))]
for r in reference_bf16:
    if r.get("case") == "train":
        md += ["", f"Reference with bf16 autocast + channels-last: training step "
               f"{r['step_images_per_s']:.1f} images/s, {r['achieved_gflops'] / 1000:.0f} TFLOP/s"]
    elif r.get("case") == "predict":
        md += [f"Reference with bf16 autocast + channels-last: 5000x5000 prediction "
               f"{r['megapixels_per_s']:.2f} MP/s, peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB"]
if compare and compare.get("table"):
    md += ["", "## sarseg vs the Python reference on this GPU", "", compare["table"]]
open(os.path.join(out_dir, "summary.md"), "w").write("\n".join(md) + "\n")
# Their content is in summary.json (at most 8 files come back from the machine).
for name in ("env.json", "python_peak.json", "reference_bf16.jsonl"):
    if os.path.exists(os.path.join(out_dir, name)):
        os.remove(os.path.join(out_dir, name))
PY
  echo
  cat "$OUT_DIR/summary.md" 2>/dev/null
  rm -f "$STEPS_TSV"
}
trap write_summary EXIT

# ---- 1. environment ------------------------------------------------------------------------------
probe_environment() {
  "$PYTHON" - "$DEPS" "$OUT_DIR/env.json" <<'PY'
import json, os, shutil, subprocess, sys, datetime, glob
deps_root, out = sys.argv[1], sys.argv[2]
def cmd(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:
        return f"unavailable ({type(e).__name__})"
env = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
env["gpu"] = cmd("nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader")
env["driver"] = cmd("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader")
try:
    import torch
    env["torch"] = torch.__version__
    env["torch_cuda"] = torch.version.cuda
    env["cuda_available"] = torch.cuda.is_available()
    env["torch_cmake_prefix"] = torch.utils.cmake_prefix_path
    env["torch_cxx11_abi"] = bool(torch._C._GLIBCXX_USE_CXX11_ABI)
except Exception as e:
    env["torch"] = f"import failed: {e}"
nvcc = cmd("nvcc", "--version").splitlines()
env["nvcc"] = nvcc[-1] if nvcc else "missing"
env["cmake"] = (cmd("cmake", "--version").splitlines() or ["missing"])[0]
env["ninja"] = cmd("ninja", "--version") or "missing"
env["cxx"] = (cmd("c++", "--version").splitlines() or ["missing"])[0]
env["pkg-config"] = shutil.which("pkg-config") or shutil.which("pkgconf") or "missing"
model = "unknown CPU"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip(); break
env["cpu"] = f"{model}, {os.cpu_count()} logical cores"
# Each dependency: a header and a library (None: header-only).
wanted = {"nlohmann_json": ("nlohmann/json.hpp", None), "yaml-cpp": ("yaml-cpp/yaml.h", "libyaml-cpp"),
          "CLI11": ("CLI/CLI.hpp", None), "spdlog": ("spdlog/spdlog.h", "libspdlog"),
          "fmt": ("fmt/format.h", "libfmt"), "GTest": ("gtest/gtest.h", "libgtest"),
          "libpng": ("png.h", "libpng"), "libzip": ("zip.h", "libzip"),
          "OpenSSL": ("openssl/sha.h", "libcrypto"), "zlib": ("zlib.h", "libz")}
system_inc = ["/usr/include", "/usr/local/include", "/usr/include/x86_64-linux-gnu"]
system_lib = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib", "/lib/x86_64-linux-gnu"]
staged_inc = [os.path.join(deps_root, "usr/include")]
staged_lib = [os.path.join(deps_root, "usr/lib/x86_64-linux-gnu")]
def has(header, lib, incs, libs):
    if not any(os.path.exists(os.path.join(d, header)) for d in incs):
        return False
    return lib is None or any(glob.glob(os.path.join(d, lib + ".*")) for d in libs)
env["dependencies"] = {}
for name, (header, lib) in wanted.items():
    if has(header, lib, system_inc, system_lib):
        env["dependencies"][name] = "system"
    elif has(header, lib, staged_inc, staged_lib):
        env["dependencies"][name] = "staged"
    else:
        env["dependencies"][name] = "missing"
json.dump(env, open(out, "w"), indent=1)
print(json.dumps(env, indent=1))
PY
}
export -f probe_environment
run_step environment 60 "$LOG" probe_environment || true
nvidia-smi >>"$LOG" 2>&1 || true

# ---- 2. the GPU's matrix rate through the torch wheel (independent of sarseg's build) ------------
python_peak() {
  "$PYTHON" - "$OUT_DIR/python_peak.json" <<'PY'
import json, sys, torch
out = sys.argv[1]
assert torch.cuda.is_available(), "torch sees no CUDA device"
cases = []
for dtype, n in ((torch.bfloat16, 8192), (torch.float32, 8192)):
    a = torch.randn(n, n, device="cuda", dtype=dtype)
    b = torch.randn(n, n, device="cuda", dtype=dtype)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(20):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record(); a @ b; end.record(); end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    times.sort()
    median = times[len(times) // 2]
    cases.append({"dtype": str(dtype).replace("torch.", ""), "shape": f"{n}^3",
                  "tflops": 2 * n ** 3 / median / 1e12,
                  "tf32_allowed": torch.backends.cuda.matmul.allow_tf32})
result = {"device": torch.cuda.get_device_name(), "cases": cases}
json.dump(result, open(out, "w"), indent=1)
print(json.dumps(result))
PY
}
export -f python_peak
run_step python-bf16-peak 90 "$LOG" python_peak || true

# ---- 3. configure and build -----------------------------------------------------------------------
configure() {
  local torch_prefix prefix_path
  torch_prefix=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  prefix_path=$torch_prefix
  if [[ -d $DEPS/usr ]]; then
    prefix_path="$torch_prefix;$DEPS/usr"
    # The staged .pc files say prefix=/usr: point copies of them at the staged root.
    local pc_dir=$BUILD/staged-pkgconfig
    mkdir -p "$pc_dir"
    for pc in "$DEPS"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc "$DEPS"/usr/share/pkgconfig/*.pc; do
      [[ -f $pc ]] && sed "s|^prefix=/usr\$|prefix=$DEPS/usr|" "$pc" >"$pc_dir/$(basename "$pc")"
    done
    export PKG_CONFIG_PATH=$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  fi
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$ROOT" -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix_path" \
    -DSARSEG_WITH_GDAL=OFF -DSARSEG_WITH_NETCDF=OFF -DSARSEG_WITH_CURL=OFF \
    -DSARSEG_USE_CCACHE=OFF -DCMAKE_CUDA_ARCHITECTURES=90 -DTORCH_CUDA_ARCH_LIST=9.0
}
export -f configure
BUILD_LOG=$OUT_DIR/build.log
: >"$BUILD_LOG"
configured=false built=false
if run_step configure 150 "$BUILD_LOG" configure; then
  configured=true
else
  grep -E "Could NOT find|Could not find|not found|CMake Error" "$BUILD_LOG" | head -n 20 >>"$LOG" || true
fi

# Test executables that carry the gpu label, from the tests' CMake files.
gpu_test_targets() {
  grep -rl "LABEL gpu" "$ROOT"/tests --include CMakeLists.txt 2>/dev/null |
    xargs -r grep -h -B3 "LABEL gpu" | grep -o "sarseg_add_test([A-Za-z0-9_]*" | sed 's/sarseg_add_test(//' |
    sort -u | tr '\n' ' '
}
if $configured; then
  GPU_TESTS=$(gpu_test_targets || true)
  say "gpu-labelled test targets: ${GPU_TESTS:-none found}"
  # shellcheck disable=SC2086
  if run_step build 330 "$BUILD_LOG" cmake --build "$BUILD" -j "$(nproc)" --target sarseg $GPU_TESTS; then
    built=true
  else
    grep -E "error|Error" "$BUILD_LOG" | head -n 20 >>"$LOG" || true
  fi
else
  record build skipped "configure failed"
fi

# Staged shared libraries are found through the build's RPATH; if not, through LD_LIBRARY_PATH.
if $built && ldd "$SARSEG" 2>/dev/null | grep -q "not found"; then
  say "sarseg misses shared libraries: $(ldd "$SARSEG" | grep 'not found' | tr -s ' \t\n' ' ')"
  export LD_LIBRARY_PATH=$DEPS/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# ---- 4. GPU tests --------------------------------------------------------------------------------
if $built; then
  run_step gpu-tests 150 "$OUT_DIR/ctest.log" \
    ctest --test-dir "$BUILD" -L gpu --output-on-failure --timeout 120 || true
  grep -E "tests passed|tests failed|No tests were found|Failed|\*\*\*" "$OUT_DIR/ctest.log" | tail -n 15 >>"$LOG" || true
else
  record gpu-tests skipped "no build"
fi

# ---- 5. benchmarks -------------------------------------------------------------------------------
if $built; then
  sarseg_peak() { "$SARSEG" bench peak --device cuda --json --seconds 1 >"$OUT_DIR/peak.json"; }
  export -f sarseg_peak
  run_step sarseg-peak 90 "$LOG" sarseg_peak || true
fi
# The comparison runs the reference even without a sarseg build (its rows then show sarseg n/a).
# The share of the GPU's bf16 matrix rate: sarseg's own peak, else the torch wheel's.
peak_gflops=$("$PYTHON" - "$OUT_DIR" <<'PY' || true
import json, os, sys
out = sys.argv[1]
try:
    print(max(p["gflops"] for p in json.load(open(os.path.join(out, "peak.json")))["peaks"]
              if p["dtype"] == "bf16"))
except Exception:
    try:
        print(1000 * max(c["tflops"] for c in json.load(open(os.path.join(out, "python_peak.json")))["cases"]
                         if c["dtype"] == "bfloat16"))
    except Exception:
        pass
PY
)
# bf16 autocast + channels-last on both sides by default (the 30 %-of-bf16-rate target is about
# that path); SARSEG_GPU_FAST= (empty) compares fp32 instead (cuDNN may use TF32 in both).
SARSEG_GPU_FAST=${SARSEG_GPU_FAST-"--precision bf16 --channels-last"}
compare_args=(--profile gpu --device cuda --repeats 1 --steps 15 --python "$PYTHON"
  --no-peak --timeout 150 --json-out "$OUT_DIR/compare.json")
[[ -n $peak_gflops ]] && compare_args+=(--peak-gflops "$peak_gflops")
[[ -n ${SARSEG_GPU_FAST:-} ]] && compare_args+=(--gpu-fast "--sarseg-gpu-fast=$SARSEG_GPU_FAST")
if $built; then
  compare_args+=(--sarseg "$SARSEG")
else
  compare_args+=(--sarseg /bin/false)
fi
run_step compare 420 "$LOG" "$PYTHON" "$ROOT/bench/compare" "${compare_args[@]}" || true

# What the reference reaches with the usual GPU speed-ups (bf16 autocast, channels-last).
reference_fast() {
  {
    "$PYTHON" "$ROOT/bench/reference/train_ref.py" --model paper --size 768 --batch 32 --steps 15 \
      --no-loader --device cuda --amp bf16 --channels-last --threads 8 | tail -n 1
    "$PYTHON" "$ROOT/bench/reference/predict_ref.py" --size 5000 --batch 4 --device cuda \
      --amp bf16 --channels-last --threads 8 | tail -n 1
  } >"$OUT_DIR/reference_bf16.jsonl"
}
export -f reference_fast
run_step reference-bf16 150 "$LOG" reference_fast || true

say "done in ${SECONDS}s"
