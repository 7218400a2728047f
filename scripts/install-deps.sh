#!/usr/bin/env bash
# Installs the Debian packages moejit needs to build and test, if any are missing, plus any
# packages named as arguments (scripts/fuzz.sh asks for clang this way).
# The CUDA toolkit itself is expected at /usr/local/cuda (or $CUDA_HOME).
set -euo pipefail

packages=(cmake ninja-build g++ pkg-config libssl-dev nlohmann-json3-dev libgtest-dev
          libbenchmark-dev libboost-program-options-dev clang-format "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "moejit: installing missing Debian packages: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null; then
      echo "moejit: installing these packages needs root, and sudo is not installed; as root run:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cuda_home=${CUDA_HOME:-/usr/local/cuda}
if [[ ! -f "$cuda_home/include/nvrtc.h" ]]; then
  echo "moejit: the CUDA toolkit was not found at $cuda_home (set CUDA_HOME to its location)" >&2
  exit 1
fi
