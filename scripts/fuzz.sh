#!/usr/bin/env bash
# Fuzzes moejit's input handling with libFuzzer under ASan and UBSan (clang): kernel spec text,
# tile table JSON, damaged cache entries, vandalized cache roots, the plan API's descriptor and
# run() argument checks, and the CPU GGUF codecs (tests/fuzz/*_fuzz.cpp say what each target checks).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGET is one of spec_text tile_table cache_entry cache_tree
# plan_checks gguf_blocks (default: all). Builds into ./build-fuzz. Each target starts from its saved inputs
# (tests/fuzz/corpus/TARGET) and grows a working corpus in build-fuzz/corpus/TARGET. A failing
# input is written to build-fuzz/crashes/TARGET/ and the script exits 1 after the other targets
# ran. Replay one with  build-fuzz/tests/fuzz/moejit_fuzz_TARGET FILE; once fixed, copy it into
# tests/fuzz/corpus/TARGET so that CTest replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[[ $# -gt 0 ]] && shift
targets=("$@")
((${#targets[@]})) || targets=(spec_text tile_table cache_entry cache_tree plan_checks gguf_blocks)
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]  (SECONDS a whole number >= 1)" >&2
  exit 2
fi
for t in "${targets[@]}"; do
  if [[ ! -f tests/fuzz/${t}_fuzz.cpp ]]; then
    echo "scripts/fuzz.sh: no fuzz target '$t' (tests/fuzz/*_fuzz.cpp)" >&2
    exit 2
  fi
done

scripts/install-deps.sh clang libclang-rt-dev
cuda_home=${CUDA_HOME:-/usr/local/cuda}
mkdir -p build-fuzz
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DMOEJIT_FUZZ=ON -DMOEJIT_BUILD_CLI=OFF \
  -DMOEJIT_BUILD_BENCH=OFF -DCUDAToolkit_ROOT="$cuda_home" > build-fuzz/build.log 2>&1 ||
  { cat build-fuzz/build.log >&2; exit 1; }
cmake --build build-fuzz --parallel --target "${targets[@]/#/moejit_fuzz_}" >> build-fuzz/build.log 2>&1 ||
  { tail -40 build-fuzz/build.log >&2; exit 1; }

status=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t
  crashes=build-fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes"
  echo "== $t: ${seconds}s"
  if build-fuzz/tests/fuzz/moejit_fuzz_"$t" -max_total_time="$seconds" -timeout=30 \
      -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "tests/fuzz/corpus/$t" \
      > "build-fuzz/$t.log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build-fuzz/$t.log" |
      sed 's/^/   /'
  else
    status=1
    echo "   FAILED: see build-fuzz/$t.log and the input in $crashes/"
    grep -E "fuzz property broken|ERROR: |runtime error|SUMMARY" "build-fuzz/$t.log" | head -5 |
      sed 's/^/   /'
  fi
done
exit $status
