#!/bin/bash
# Regenerate the ED training data of potentials/square_double_exchange_doped and retrain
# the mu-aware model (contract 2: local grand potentials omega_i(S; mu)).
#
#   potentials/square_double_exchange_doped/regenerate.sh          # data (about 1.2 CPU hours) + training
#   potentials/square_double_exchange_doped/regenerate.sh data     # only the data
#   potentials/square_double_exchange_doped/regenerate.sh train    # only the training (data present)
#   potentials/square_double_exchange_doped/regenerate.sh blind    # only the blind test (data + evaluation)
#   potentials/square_double_exchange_doped/regenerate.sh blind-data # only the blind test's data
#   potentials/square_double_exchange_doped/regenerate.sh llg      # ML-LLG against ED-LLG (llg-ed: only the ED runs)
#
# Environment: LMP, DATA, WORKERS, THREADS (see ../common/jobs.sh).
# Not part of CI. Interrupted data generation continues where it stopped (NAME.done files).
#
# Reference Hamiltonian (pair_style sd/tb, units lj: energies in t, time in hbar/t):
#   double exchange on the square lattice, nearest-neighbour hopping t = 1, J = 6,
#   electron temperature kT = 0.05, at many chemical potentials mu (grand canonical) and
#   at fixed fillings 0.45-0.495 (canonical: the solved mu of every snapshot is written
#   beside its energy, in.sd_tb_*). Seeds: training 1-99, validation 101-109, selection
#   test 110-119, blind test 441-459 (bench/ml_vs_reference uses 7001-7099).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HAM=""   # set per job: gc MU or can FILLING
source "$HERE/../common/jobs.sh"
gc() { echo "hop 1.0 J 6.0 mu $1 kT 0.05 solver ed"; }
can() { echo "hop 1.0 J 6.0 filling $1 kT 0.05 solver ed"; }
what=${1:-all}
cd "$DATA"

if [ "$what" = all ] || [ "$what" = data ]; then
  for L in 12 16 20 30; do
    [ -f sq$L.data ] || $PY "$COMMON/make_configs.py" lattice --lattice square --L $L --out sq$L.data
  done
  # Phase 1. Grand-canonical quenches over the mu range that canonical runs at fillings
  # 0.45-0.50 visit (-6 to -3: the solved mu of a configuration at filling 0.485 lies
  # anywhere there, from near the top of the Neel lower band to inside the ferromagnetic
  # band), canonical quenches at the target fillings (the physical path, with its mu),
  # and configurations (random, Voronoi domains, ferromagnetic droplets in a Neel
  # background, textures, noisy order) at both ensembles. ED costs ~ N^3: trajectories
  # on 12x12-20x20, the selection test on 30x30.
  {
    s=1
    for mu in -6.0 -5.4 -4.8 -4.4 -4.0 -3.5 -3.0; do
      HAM=$(gc $mu) traj train_q12_mu${mu#-}_s$s sq12.data $s 0.5 0.1 600 20; s=$((s + 1))
    done
    for mu in -5.0 -4.6 -4.2; do
      HAM=$(gc $mu) traj train_q16_mu${mu#-}_s$s sq16.data $s 1.0 0.1 600 20; s=$((s + 1))
    done
    HAM=$(can 0.485) traj train_q16_f485_s11 sq16.data 11 0.5 0.1 600 20
    HAM=$(can 0.485) traj train_q16_f485_s12 sq16.data 12 1.0 0.1 600 20
    HAM=$(can 0.47) traj train_q16_f470_s13 sq16.data 13 0.5 0.1 600 20
    HAM=$(can 0.45) traj train_q16_f450_s14 sq16.data 14 0.5 0.1 600 20
    HAM=$(can 0.485) traj train_e16_f485_s15 sq16.data 15 0.5 0.1 100 5       # early times, densely
    HAM=$(can 0.485) traj train_q20_f485_s16 sq20.data 16 0.5 0.1 500 25
    HAM=$(can 0.485) configs train_c20_f485 sq20.data 300 --lattice square --L 20 --seed 21
    HAM=$(can 0.46) configs train_c20_f460 sq20.data 100 --lattice square --L 20 --seed 22
    HAM=$(can 0.495) configs train_c20_f495 sq20.data 60 --lattice square --L 20 --seed 23
    HAM=$(gc -5.6) configs train_c20_mu5.6 sq20.data 100 --lattice square --L 20 --seed 24
    HAM=$(gc -4.6) configs train_c20_mu4.6 sq20.data 100 --lattice square --L 20 --seed 25
    HAM=$(gc -3.6) configs train_c20_mu3.6 sq20.data 100 --lattice square --L 20 --seed 26
    HAM=$(can 0.485) configs train_r16_f485 sq16.data 100 --lattice square --L 16 --seed 27 --mix random:1
    HAM=$(can 0.485) traj valid_q16_f485_s101 sq16.data 101 0.5 0.1 400 20
    HAM=$(can 0.485) configs valid_c20_f485 sq20.data 40 --lattice square --L 20 --seed 102
    HAM=$(gc -4.6) configs valid_c20_mu4.6 sq20.data 30 --lattice square --L 20 --seed 103
    HAM=$(can 0.485) configs test_c30_f485 sq30.data 6 --lattice square --L 30 --seed 110
  } > jobs1.txt
  run_list jobs1.txt
  # Phase 2: snapshots of the canonical training quenches with random noise added.
  HAM=$(can 0.485) perturb train_p16_f485 sq16.data "train_q16_f485_s11.dump train_q16_f485_s12.dump" 200 28 > jobs2.txt
  run_list jobs2.txt
fi

if [ "$what" = all ] || [ "$what" = train ]; then
  D=$DATA
  TRAIN=()   # every training set (the names of their .energy files)
  for f in $D/train_*.energy; do TRAIN+=("${f%.energy}"); done
  train_model "${TRAIN[@]}" \
    --valid $D/valid_q16_f485_s101 $D/valid_c20_f485 $D/valid_c20_mu4.6 \
    --test $D/test_c30_f485 \
    --mu-input --w-density 1.0 \
    --radius 4 --cross-radius 2.7 --bond-shells 2 --hidden 128,128,64 --w-field 0.02 --epochs 30 --schedule cosine --seed 1
fi

if [ "$what" = all ] || [ "$what" = blind ] || [ "$what" = blind-data ]; then
  # Blind test of the card: 30x30 under filling 0.485 against canonical ED. Made after the
  # shipped model was final, from fresh seeds (441-459: no other job uses them), and
  # evaluated once, with the model at its own solved mu (heldout.py --filling-solve).
  # Not for choosing between models: a model chosen on these numbers needs a new blind set.
  BLIND_C=(441 442 443 444)   # two configurations each, the training mix
  BLIND_PS=(445 446)          # three each: ferromagnetic droplets in a Neel background, noisy or in domains
  BLIND_Q=(451 452 453)       # eight snapshots (t = 0-100) of an ML-LLG quench, relabelled by ED
  mlquench() {  # mlquench NAME SEED: snapshots of a canonical ML-LLG quench (this model), relabelled by ED
    echo "$1 $LMP -in $COMMON/in.sd_tb_trajectory -log none -screen none -var name ml_$1 -var data sq30.data -var pair mlspin -var ham 'forces no filling 0.485' -var coeff '$HERE/model.pt site' -var seed $2 -var alpha 0.5 -var dt 0.1 -var steps 1000 -var every 20 && $PY $COMMON/make_configs.py perturb --dump ml_$1.dump --n 8 --seed $2 --sigma 0,0 --out $1 && $LMP -in $COMMON/in.sd_tb_configs -log none -screen none -var name $1 -var data sq30.data -var cfg $1 -var n 8 -var ham '$(can 0.485)'"
  }
  {
    for s in "${BLIND_C[@]}"; do HAM=$(can 0.485) configs blind_c30_f485_s$s sq30.data 2 --lattice square --L 30 --seed $s; done
    for s in "${BLIND_PS[@]}"; do
      HAM=$(can 0.485) configs blind_ps30_f485_s$s sq30.data 3 --lattice square --L 30 --seed $s --states ps --mix noisy:1,domains:1
    done
    for s in "${BLIND_Q[@]}"; do mlquench blind_q30_f485_s$s $s; done
  } > jobs_blind.txt
  run_list jobs_blind.txt
  [ "$what" = blind-data ] && exit 0
  UNITS=()
  for s in "${BLIND_C[@]}"; do UNITS+=("$DATA/blind_c30_f485_s$s"); done
  for s in "${BLIND_PS[@]}"; do UNITS+=("$DATA/blind_ps30_f485_s$s"); done
  for s in "${BLIND_Q[@]}"; do UNITS+=("$DATA/blind_q30_f485_s$s"); done
  $PY "$COMMON/heldout.py" --model "$HERE/model.pt" --out "$HERE/blind_test.json" --stratify --markdown --filling-solve "${UNITS[@]}"
fi

if [ "$what" = llg ] || [ "$what" = llg-ed ]; then
  # ML-LLG against canonical ED-LLG (filling 0.485, kT 0.05) on 20x20 from the same random
  # spins (seeds 121, 122: no training job uses them), t = 100, compared in the observables
  # of the phase separation (compare_llg.py). ED: about 0.9 s per field evaluation, 30 CPU
  # minutes per run.
  SEEDS=(121 122)
  for s in "${SEEDS[@]}"; do HAM=$(can 0.485) traj llg_ed20_s$s sq20.data $s 0.5 0.1 1000 50; done > jobs_llg_ed.txt
  run_list jobs_llg_ed.txt
  [ "$what" = llg-ed ] && exit 0
  for s in "${SEEDS[@]}"; do
    FIELD="-var pair mlspin -var ham 'forces no filling 0.485' -var coeff '$HERE/model.pt site' -var electrons yes" \
      traj llg_ml20_s$s sq20.data $s 0.5 0.1 1000 50
  done > jobs_llg_ml.txt
  run_list jobs_llg_ml.txt
  PAIRS=()
  for s in "${SEEDS[@]}"; do PAIRS+=(--pair "$DATA/llg_ed20_s$s" "$DATA/llg_ml20_s$s"); done
  $PY "$HERE/compare_llg.py" "${PAIRS[@]}" --json "$HERE/llg_ed_vs_ml.json" --plot "$HERE/llg_ed_vs_ml.png"
fi
