# Sourced by NAME/regenerate.sh after it sets HERE (its folder) and HAM (the sd/tb
# arguments): paths, settings (DATA created and made absolute), the job-line writers of
# run_jobs.py lists, run_list and train_model.
# Environment: LMP (default build/lmp), DATA (default NAME/data), WORKERS (parallel
# serial LAMMPS processes, default 2), NICE (their nice level, default 10), THREADS (torch
# threads of the training, default 2).
ROOT=$(cd "$HERE/../.." && pwd)
COMMON=$ROOT/potentials/common
LMP=${LMP:-$ROOT/build/lmp}
DATA=${DATA:-$HERE/data}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-2}
PY=/usr/bin/python3

# The field source of the jobs: sd/tb with HAM, unless FIELD gives other in.sd_tb_* variables,
# e.g. FIELD="-var pair mlspin -var coeff 'MODEL site'" (configurations labelled by a model)
field() { echo "${FIELD:-"-var ham '$HAM'"}"; }
traj() {  # traj NAME LATTICE_DATA SEED ALPHA DT STEPS EVERY: ED-LLG quench, T = 0
  echo "$1 $LMP -in $COMMON/in.sd_tb_trajectory -log none -screen none -var name $1 -var data $2 $(field) -var seed $3 -var alpha $4 -var dt $5 -var steps $6 -var every $7"
}
configs() {  # configs NAME LATTICE_DATA N [make_configs options]: independent configurations
  local name=$1 data=$2 n=$3; shift 3
  echo "$name $PY $COMMON/make_configs.py configs --n $n --out $name $* && $LMP -in $COMMON/in.sd_tb_configs -log none -screen none -var name $name -var data $data -var cfg $name -var n $n $(field)"
}
perturb() {  # perturb NAME LATTICE_DATA FROM_DUMP N SEED: snapshots + noise of amplitude 0.02 to 0.3
  echo "$1 $PY $COMMON/make_configs.py perturb --dump $3 --n $4 --seed $5 --sigma 0.02,0.3 --out $1 && $LMP -in $COMMON/in.sd_tb_configs -log none -screen none -var name $1 -var data $2 -var cfg $1 -var n $4 $(field)"
}
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)

run_list() {  # run_list JOBS: run a job list, WORKERS at a time, resumably
  $PY "$COMMON/run_jobs.py" "$1" --workers "$WORKERS" --nice "${NICE:-10}"
}
ship_model() {  # NAME/fit/model.pt -> NAME/model.pt, its data names made relative to NAME/
  cp "$HERE/fit/model.pt" "$HERE/model.pt"
  $PY "$COMMON/portable_metadata.py" --written-in "$HERE/fit" "$HERE/model.pt"
}

train_model() {  # train_model DATA_SETS_AND_OPTIONS...: fit into NAME/fit, ship NAME/model.pt
  $PY "$ROOT/tools/mlspin-train" train --threads "$THREADS" --out "$HERE/fit" "$@"
  ship_model
}
