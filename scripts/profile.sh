#!/usr/bin/env bash
# Profiles the main kernel of one moejit call with Nsight Compute (ncu): `moejit bench` runs it
# once, ncu reports speed of light, occupancy, warp stalls and the instruction mix.
# Usage: scripts/profile.sh BUILD_DIR SPEC [moejit bench options...]
#   e.g. scripts/profile.sh build wmma_gguf:q4_k:bf16 --tokens 512 --experts 8 --top-k 2 \
#          --n 14336 --k 4096 --prefill
# Writes the report to $OUT (else ./device-logs) as profile-<spec>.txt; needs a GPU and ncu.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 2 ]]; then
  sed -n 2,8p "$0" >&2
  exit 2
fi
build=$1
spec=$2
shift 2
logs=${OUT:-$PWD/device-logs}
mkdir -p "$logs"
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
export PATH="$CUDA_HOME/bin:$PATH"
export LD_LIBRARY_PATH="$CUDA_HOME/lib64:$CUDA_HOME/lib:${LD_LIBRARY_PATH:-}"
ncu=$(command -v ncu || true)
if [[ -z "$ncu" ]]; then
  echo "profile: ncu (Nsight Compute) not found on PATH or in $CUDA_HOME/bin" >&2
  exit 2
fi
name=$(echo "$spec $*" | tr -c 'A-Za-z0-9_.-' '_' | cut -c1-120)
# The main kernel is the last launch of the call; the helper kernels are filtered out by name.
"$ncu" --kernel-name regex:'(wg?mma_kernel|wg?mma_gguf_kernel|scalar_gguf_kernel)' \
  --launch-skip 0 --launch-count 1 \
  --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
  --section InstructionStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
  "$build/cli/moejit" bench "$spec" --warmup 0 --iters 1 --no-rotate "$@" \
  >"$logs/profile-$name.txt" 2>&1
grep -E "Duration|Throughput|Registers|Achieved Occupancy|Theoretical Occupancy|Block Limit|Stall|Executed Ipc|Issue Slots|Warp Cycles" \
  "$logs/profile-$name.txt" | head -60
