#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs every test: the C++ core tests, the
# LAMMPS-driven tests on 1 and 2 MPI ranks, and the Python tests of tools/, all
# through ctest. Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="${MLSPIN_BUILD_DIR:-build}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "$build" --output-on-failure --timeout 1500
