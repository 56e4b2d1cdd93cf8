#!/usr/bin/env bash
# Phase separation of the hole-doped double-exchange model: the canonical ML-LLG quench
# (filling 0.485, conserved electrons) and the same quench at a fixed chemical potential,
# then analyze.py (clusters, holes, pictures). See README.md.
#
#   bash run.sh                                   # 128 x 128, both runs, then the analysis
#   L=32 STEPS=300 EVERY=30 bash run.sh           # a quick look
#   MU=auto bash run.sh                           # fixed mu = mean mu of the canonical run's late half
#
# Environment: L (default 128), STEPS (3000), EVERY (100), SEED, NP (MPI ranks per run,
# default 2; 1 runs without mpirun), FILLING (0.485), MU (fixed mu of the comparison run:
# a number, default -4.6, or "auto": the mean mu of the second half of the canonical
# run's thermo table), MODEL (default potentials/square_double_exchange_doped/model.pt),
# SPECIES (its species name, default site), LMP (default build/lmp of the repository),
# OUT (output folder, default output/ here). A run that finished with the
# same settings is not repeated (OUT/NAME.done holds them; delete it to redo the run).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
L="${L:-128}"
STEPS="${STEPS:-3000}"
EVERY="${EVERY:-100}"
SEED="${SEED:-20261203}"
NP="${NP:-2}"
FILLING="${FILLING:-0.485}"
MU="${MU:--4.6}"
MODEL="${MODEL:-$root/potentials/square_double_exchange_doped/model.pt}"
SPECIES="${SPECIES:-site}"
LMP="${LMP:-$root/build/lmp}"
OUT="${OUT:-$here/output}"

[ -f "$MODEL" ] || { echo "run.sh: no model file $MODEL (set MODEL=...)" >&2; exit 1; }
[ -x "$LMP" ] || { echo "run.sh: no LAMMPS at $LMP (build the project, or set LMP=...)" >&2; exit 1; }
MODEL="$(realpath "$MODEL")"
mkdir -p "$OUT"
cd "$OUT"

launcher=()
if [ "$NP" -gt 1 ]; then
  launcher=(mpirun -np "$NP")
  if [ "$(id -u)" -eq 0 ]; then launcher+=(--allow-run-as-root); fi
fi

# run NAME "ENSEMBLE": one quench of in.ml_square_phase_separation into OUT/NAME.*
run() {
  local name="$1" ensemble="$2"
  local settings="L $L steps $STEPS every $EVERY seed $SEED model $MODEL species $SPECIES $ensemble"
  if [ -f "$name.done" ] && [ "$(cat "$name.done")" = "$settings" ]; then echo "run.sh: $name already done"; return; fi
  rm -f "$name.done"
  echo "run.sh: $name ($ensemble), L $L, $STEPS steps on $NP rank(s), log $OUT/$name.log"
  OMP_NUM_THREADS=1 "${launcher[@]}" "$LMP" -in "$here/in.ml_square_phase_separation" -log "$name.log" -screen none \
    -var L "$L" -var steps "$STEPS" -var every "$EVERY" -var seed "$SEED" -var model "$MODEL" \
    -var species "$SPECIES" -var ens "$ensemble" -var name "$name"
  echo "$settings" > "$name.done"
}

# late_mu NAME: the mean mu over the second half of NAME.thermo (column 4)
late_mu() {
  /usr/bin/python3 -c 'import sys, numpy as np
t = np.loadtxt(sys.argv[1], comments="#", ndmin=2)
print(f"{t[len(t) // 2:, 3].mean():.6f}")' "$1.thermo"
}

canonical="canonical_f$FILLING"
run "$canonical" "filling $FILLING"
if [ "$MU" = auto ]; then
  MU="$(late_mu "$canonical")"
  echo "run.sh: fixed mu = $MU, the mean mu of the second half of the canonical run"
fi
run "mu$MU" "mu $MU"
/usr/bin/python3 "$here/analyze.py" "$canonical.dump" "mu$MU.dump" --prefix square_ps | tee analysis.txt
echo "run.sh: outputs in $OUT (square_ps.json, square_ps_growth.png, square_ps_maps_*.png, analysis.txt)"
