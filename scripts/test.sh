#!/usr/bin/env bash
# The test command: installs what is missing, checks formatting, builds, and runs every test.
# Tests labelled gpu skip (with a message) on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-format.sh
scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 600
