#!/usr/bin/env bash
# The main job: installs what is missing, builds, precompiles the default kernels into the kernel
# cache and lists them. On a machine with a GPU it also verifies every default kernel against the
# CPU reference and times it (the benchmark table of docs/benchmarks.md).
# Usage: scripts/run.sh [ARCH]   ARCH (e.g. sm_90, sm_80) is needed only without a GPU; default sm_90.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

moejit=build/cli/moejit
have_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then have_gpu=1; fi

arch_args=()
if [[ $# -ge 1 ]]; then
  arch_args=(--arch "$1")
elif ((have_gpu == 0)); then
  echo "moejit: no GPU here; precompiling for sm_90 (pass an architecture to choose another)"
  arch_args=(--arch sm_90)
fi

echo "== moejit precompile --preset default ${arch_args[*]}"
"$moejit" precompile --preset default "${arch_args[@]}"
echo "== moejit cache stats"
"$moejit" cache stats
echo "== moejit cache ls"
"$moejit" cache ls

if ((have_gpu)); then
  echo "== verifying and timing the kernels on the GPU"
  build/bench/moejit_gpu_bench --check
else
  echo "moejit: no GPU here, so nothing was run; on a GPU host this also verifies and times the kernels"
fi
