#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the flagship example: the ML-LLG
# quench of the triangular s-d model with the shipped potential
# potentials/triangular_chiral/model.pt, in examples/ml_triangular_quench/output/,
# then draws the chirality field, its structure factor and the domain length.
# Safe to repeat. MLSPIN_RANKS sets the number of MPI ranks (default: the number of
# cores); extra arguments go to LAMMPS, e.g. -var L 256 -var steps 4000.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bash scripts/setup.sh
build="$(cd "${MLSPIN_BUILD_DIR:-build}" && pwd)"
ranks="${MLSPIN_RANKS:-$(nproc)}"
out=examples/ml_triangular_quench/output
mkdir -p "$out"
cd "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "example: ML-LLG quench of the triangular s-d model on $ranks MPI rank(s); log in $out/log.lammps"
mpirun -np "$ranks" "$build/lmp" -in ../in.ml_triangular_quench \
  -var model "$root/potentials/triangular_chiral/model.pt" "$@"
/usr/bin/python3 ../analyze.py dump.ml_triangular_quench log.lammps ml_triangular_quench.png
echo "example: picture in $out/ml_triangular_quench.png"
