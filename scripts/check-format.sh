#!/usr/bin/env bash
# Fails if any C++ or CUDA source is not formatted with the project's .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -co --exclude-standard -- '*.cpp' '*.hpp' '*.cuh' | grep -v '^build' |
  xargs -r clang-format --dry-run --Werror
