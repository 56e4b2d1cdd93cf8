#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test: the C++ core tests, the
# LAMMPS-driven tests on 1 and 2 MPI ranks, and the Python tests of tools/, all
# through ctest. Then builds the plugin once more without LibTorch and runs the
# LAMMPS-driven tests of that build. Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="${MLSPIN_BUILD_DIR:-build}"
jobs="${MLSPIN_JOBS:-$(nproc)}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$build" --output-on-failure --timeout 1500

# A build without LibTorch (MLSPIN_WITH_TORCH=OFF) on the same cached LAMMPS: every
# style but pair_style mlspin works, and that one says how to get LibTorch. Only the
# plugin and the LAMMPS-driven tests (label `lammps`): the core tests do not depend on
# LibTorch and ran above. About 1 minute of CPU (2 minutes on two busy cores).
notorch="$build-notorch"
echo "run-tests: the plugin without LibTorch, in $notorch"
lammps_dirs=()
while IFS= read -r line; do lammps_dirs+=("-D$line"); done \
  < <(sed -n 's/^\(LAMMPS_SOURCE_DIR\|LAMMPS_BINARY_DIR\):PATH=/\1=/p' "$build/CMakeCache.txt")
mkdir -p "$notorch"
log="$notorch/run-tests-build.log"
{ cmake -S . -B "$notorch" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLSPIN_WITH_TORCH=OFF "${lammps_dirs[@]}" &&
  cmake --build "$notorch" --parallel "$jobs" --target mlspin_lammps_tests; } >"$log" 2>&1 \
  || { tail -n 40 "$log" >&2; echo "run-tests: the build without LibTorch failed (log: $log)" >&2; exit 1; }
ctest --test-dir "$notorch" -L lammps --output-on-failure --timeout 600
