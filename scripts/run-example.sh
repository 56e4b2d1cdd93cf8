#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the flagship example in
# examples/llg_domains/output/, then draws its picture. Safe to repeat.
# MLSPIN_RANKS sets the number of MPI ranks (default: the number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="$(cd "${MLSPIN_BUILD_DIR:-build}" && pwd)"
ranks="${MLSPIN_RANKS:-$(nproc)}"
out=examples/llg_domains/output
mkdir -p "$out"
cd "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "example: LLG domain coarsening on $ranks MPI rank(s); log in $out/log.lammps"
mpirun -np "$ranks" "$build/lmp" -in ../in.llg_domains "$@"
/usr/bin/python3 ../plot.py log.lammps dump.llg_domains llg_domains.png
echo "example: picture in $out/llg_domains.png"
