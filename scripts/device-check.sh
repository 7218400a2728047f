#!/usr/bin/env bash
# The GPU machine's one check: runs the gpu tests of a carried-over build, the same kernels under
# compute-sanitizer (memcheck, racecheck) on a reduced filter, and the GPU benchmark if built
# (moejit_gpu_bench: markdown tables in gpu_bench.md, JSON in gpu_bench.json).
# Usage: scripts/device-check.sh [BUILD_DIR]   (default: ./build). Logs: $OUT, else ./device-logs.
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
logs=${OUT:-$PWD/device-logs}
mkdir -p "$logs"
summary="$logs/summary.txt"
: >"$summary"
status=0

note() { echo "$*" | tee -a "$summary"; }

if [[ ! -d "$build" ]]; then
  echo "device-check: build directory '$build' not found (build on the build machine and carry it)" >&2
  exit 2
fi
gpu_tests="$build/tests/moejit_test_gpu"
if [[ ! -x "$gpu_tests" ]]; then
  echo "device-check: $gpu_tests is missing: build the moejit_test_gpu target first" >&2
  exit 2
fi

# A fresh kernel cache for this run (kept with the logs' machine, not the build machine's path).
export MOEJIT_CACHE_DIR=${MOEJIT_CACHE_DIR:-$(mktemp -d /tmp/moejit-device-cache.XXXXXX)}
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH="$CUDA_HOME/bin:$PATH"
export LD_LIBRARY_PATH="$CUDA_HOME/lib64:$CUDA_HOME/lib:${LD_LIBRARY_PATH:-}"  # libnvrtc

{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 ||
    echo "nvidia-smi not available"
  echo "build: $build"
  echo "cache: $MOEJIT_CACHE_DIR"
} >"$logs/device.txt"

# Runs "$@" with a time limit, logging to $logs/<name>.log; records the result in the summary.
run_step() {
  local name=$1 limit=$2
  shift 2
  local log="$logs/$name.log" start end rc
  start=$(date +%s)
  timeout "$limit" "$@" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  local detail=""
  local passed failed skipped errors
  passed=$(grep -oP '\[  PASSED  \] \K[0-9]+' "$log" | tail -1)
  failed=$(grep -oP '\[  FAILED  \] \K[0-9]+(?= tests?, listed below)' "$log" | tail -1)
  skipped=$(grep -oP '\[  SKIPPED \] \K[0-9]+(?= tests?, listed below)' "$log" | tail -1)
  errors=$(grep -oP 'ERROR SUMMARY: \K[0-9]+' "$log" | tail -1)
  [[ -z "$errors" ]] && errors=$(grep -oP 'RACECHECK SUMMARY: [0-9]+ hazards? displayed \(\K[0-9]+' "$log" | tail -1)
  [[ -n "$passed" ]] && detail+=" passed=$passed"
  [[ -n "$failed" ]] && detail+=" failed=$failed"
  [[ -n "$skipped" ]] && detail+=" skipped=$skipped"
  [[ -n "$errors" ]] && detail+=" sanitizer_errors=$errors"
  local verdict=ok
  # A skipped gpu test means it saw no GPU: on the GPU machine that is a failure too.
  if ((rc != 0)) || [[ -n "$failed" && "$failed" != 0 ]] || [[ -n "$errors" && "$errors" != 0 ]] ||
    [[ -n "$skipped" && "$skipped" != 0 ]]; then
    verdict=FAIL
    status=1
  fi
  ((rc == 124)) && detail+=" (timed out after ${limit}s)"
  note "$(printf '%-22s %-4s rc=%-3s %4ss%s' "$name" "$verdict" "$rc" "$((end - start))" "$detail")"
  if [[ $verdict == FAIL ]]; then
    grep -E '^\[  FAILED  \]|ERROR SUMMARY|Error:|error:' "$log" | head -20 >>"$summary"
  fi
}

sanitizer_filter=${MOEJIT_SANITIZER_FILTER:-'*SanitizerSmoke*:*WgmmaTiles*T150*'}

# The CLI tests that need a GPU (verify, bench, tune), against the carried moejit binary.
cli_tests="$build/tests/moejit_test_cli"
if [[ -x "$cli_tests" && -x "$build/cli/moejit" ]]; then
  run_step cli-gpu-tests 900 env MOEJIT_TEST_CLI="$(realpath "$build/cli/moejit")" "$cli_tests" \
    --gtest_color=no --gtest_filter='CliGpuCommands.*:CliTune.*-*WithoutGpu*'
fi

run_step gpu-tests 900 "$gpu_tests" --gtest_color=no
grep -h 'MoePlan::run host time' "$logs/gpu-tests.log" >>"$summary"
if command -v compute-sanitizer >/dev/null; then
  run_step memcheck 900 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 \
    "$gpu_tests" --gtest_color=no --gtest_filter="$sanitizer_filter"
  run_step racecheck 900 compute-sanitizer --tool racecheck --racecheck-report all \
    --error-exitcode 3 "$gpu_tests" --gtest_color=no --gtest_filter="$sanitizer_filter"
else
  note "compute-sanitizer      SKIP (not on PATH; looked in $CUDA_HOME/bin)"
fi

# GPU benchmarks: executables under bench/ whose name mentions gpu.
shopt -s nullglob
benches=()
for b in "$build"/bench/moejit_*gpu*; do
  [[ -x "$b" && -f "$b" ]] && benches+=("$b")
done
if ((${#benches[@]})); then
  for b in "${benches[@]}"; do
    name=$(basename "$b")
    if [[ $name == moejit_gpu_bench ]]; then
      # Markdown tables for docs/benchmarks.md, JSON, and the best-against-peer summary; progress
      # and checks in the log. MOEJIT_GPU_BENCH_ARGS adds or replaces options (default: --check).
      # shellcheck disable=SC2016,SC2086
      run_step "$name" 900 bash -c '"$1" --markdown --json "$2/gpu_bench.json" \
        --summary "$2/gpu_bench_summary.txt" "${@:3}" >"$2/gpu_bench.md"' _ "$b" "$logs" \
        ${MOEJIT_GPU_BENCH_ARGS---check}
      [[ -f "$logs/gpu_bench_summary.txt" ]] && cat "$logs/gpu_bench_summary.txt" >>"$summary"
    else
      run_step "$name" 900 "$b"
    fi
  done
else
  note "gpu benchmark          SKIP (no $build/bench/moejit_*gpu* executable)"
fi

echo
echo "==== device-check summary ($(head -1 "$logs/device.txt"); logs in $logs) ===="
sed -n 2,3p "$logs/device.txt"
cat "$summary"
exit $status
