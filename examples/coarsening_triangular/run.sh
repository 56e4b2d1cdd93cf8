#!/usr/bin/env bash
# Coarsening of chiral tetrahedral order after a quench, several seeds, with the shipped
# triangular potential; then the growth exponent with its error bar over the seeds
# (tools/mlspin-analyze coarsening). See README.md for the cost.
#
#   bash run.sh                       # 256 x 256, seeds 1-4, t = 1000 (5000 steps)
#   L=96 STEPS=2500 SEEDS="1 2 3 4" bash run.sh
#   MODEL=../../potentials/triangular_chiral/model.pt bash run.sh    # the committee: 2x the cost
#
# Environment: L, STEPS, EVERY, SEEDS, MODEL, RANKS (MPI ranks per run, default: cores),
# LMP (default: build/lmp of the repository). Runs that finished are not repeated.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
L="${L:-256}"
STEPS="${STEPS:-5000}"
EVERY="${EVERY:-100}"
SEEDS="${SEEDS:-1 2 3 4}"
MODEL="$(realpath "${MODEL:-$root/potentials/triangular_chiral/model_fast.pt}")"
RANKS="${RANKS:-$(nproc)}"
LMP="${LMP:-$root/build/lmp}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$here/output/L$L"
dumps=()
for seed in $SEEDS; do
  dir="$out/seed$seed"
  mkdir -p "$dir"
  dumps+=("$dir/dump.ml_triangular_quench")
  if [ -f "$dir/done" ]; then echo "coarsening: L $L seed $seed already done"; continue; fi
  echo "coarsening: L $L seed $seed, $STEPS steps on $RANKS rank(s), log $dir/log.lammps"
  # the flagship input with this lattice, length and seed (one input for both examples)
  (cd "$dir" && mpirun -np "$RANKS" "$LMP" -in "$root/examples/ml_triangular_quench/in.ml_triangular_quench" \
     -var L "$L" -var steps "$STEPS" -var every "$EVERY" -var seed "$((20261200 + seed))" -var model "$MODEL" \
     -screen none)
  touch "$dir/done"
done
/usr/bin/python3 "$root/tools/mlspin-analyze" coarsening --lattice triangular --dt 0.2 \
  --json "$out/coarsening.json" --plot "$out/coarsening.png" "${dumps[@]}"
echo "coarsening: $out/coarsening.json and $out/coarsening.png"
