#!/usr/bin/env bash
# Installs the Debian packages mlspin needs (when missing) and builds it in build/.
# Safe to repeat: installed packages and the cached LAMMPS build are reused.
#
# Environment: MLSPIN_BUILD_DIR (default build), MLSPIN_JOBS (default: all cores),
# MLSPIN_CACHE_DIR (where the embedded LAMMPS is cached, default ~/.cache/mlspin).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build make xz-utils ca-certificates
  libeigen3-dev libgtest-dev libopenmpi-dev openmpi-bin libtorch-dev libopenblas0-pthread nlohmann-json3-dev
  python3-torch python3-numpy python3-matplotlib python3-tqdm python3-pytest python3-threadpoolctl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: install them as root (apt-get install ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  # apt's output (debconf notes included) is shown only when it fails
  apt_log="$(mktemp)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    rm -f "$apt_log"
    echo "setup: apt-get could not install ${missing[*]} (its output is above)" >&2
    exit 1
  fi
  rm -f "$apt_log"
fi

build="${MLSPIN_BUILD_DIR:-build}"
jobs="${MLSPIN_JOBS:-$(nproc)}"
echo "setup: configuring in $build (the first run fetches and builds LAMMPS, about 10 minutes)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
echo "setup: building"
cmake --build "$build" --parallel "$jobs"
echo "setup: done: $build/lmp runs LAMMPS with every mlspin style; the plugin is $build/mlspinplugin.so"
