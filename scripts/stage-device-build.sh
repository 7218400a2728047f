#!/usr/bin/env bash
# Copies the programs the GPU machine runs (gpu tests, GPU benchmark, the moejit command) out of
# ./build into ./.device-build (git-ignored), stripped, for scripts/device-check.sh to run there.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-build}
dst=.device-build
rm -rf "$dst"
mkdir -p "$dst/tests" "$dst/bench" "$dst/cli"
cp "$src/tests/moejit_test_gpu" "$dst/tests/"
cp "$src/tests/cli/moejit_test_cli" "$dst/tests/"
cp "$src/cli/moejit" "$dst/cli/"
for b in "$src"/bench/moejit_*gpu*; do
  [[ -x "$b" ]] && cp "$b" "$dst/bench/"
done
strip --strip-unneeded "$dst"/tests/* "$dst"/cli/* "$dst"/bench/* 2>/dev/null || true
du -sh "$dst"
