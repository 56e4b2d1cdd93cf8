#!/usr/bin/python3
"""ML-LLG against ED-LLG from the same random initial spins.

Runs fix llg twice on the same lattice and initial spins: once with the exact reference
(pair_style sd/tb, with the Hamiltonian recorded in the model's metadata) and once with
the machine-learned potential (pair_style mlspin), both serially and side by side. Then
plots the energy per site and the order parameters of both runs against time on one
figure and prints the largest deviation of each:
  triangular lattice: mean chirality magnitude <|chi|> of the triangles (and <chi>);
  square lattice: ferromagnetic and Neel structure-factor weights.

Example (the defaults of the shipped potentials; ED makes this take a while):
  potentials/validate.py --model potentials/triangular_chiral/model.pt --lattice triangular --L 24 \
      --dt 0.2 --steps 500 --every 25
  potentials/validate.py --model potentials/square_double_exchange/model.pt --lattice square --L 30 \
      --dt 0.1 --steps 60 --every 5
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlspin_train.analysis import read_thermo, square_order, triangular_order  # noqa: E402
from mlspin_train.dataset import read_dump  # noqa: E402
from mlspin_train.export import load_model  # noqa: E402
from mlspin_train.lammps import MPI_ENV, default_lmp  # noqa: E402

H = np.sqrt(3.0) / 2.0
LATTICES = {
    # rhombic L x L torus of the triangular lattice, spacing 1 (lj units: density 2/sqrt 3)
    "triangular": """
lattice         custom {rho:.15g} a1 1 0 0 a2 0.5 {h:.15g} 0 a3 0 0 1 basis 0 0 0 origin 0.1 0.1 0
region          box prism 0 {L} 0 {ly:.15g} -0.5 0.5 {tilt:.15g} 0 0 units box
""",
    "square": """
lattice         custom 1.0 a1 1 0 0 a2 0 1 0 a3 0 0 1 basis 0 0 0 origin 0.1 0.1 0
region          box block 0 {L} 0 {L} -0.5 0.5
""",
}

SETUP = """
units           lj
atom_style      spin/lattice
boundary        p p f
{lattice}
create_box      1 box
create_atoms    1 box
mass            1 1.0
set             group all spin/atom/random {seed} 1.0
write_data      initial.data
"""

RUN = """
units           lj
atom_style      spin/lattice
boundary        p p f
read_data       ../initial.data
{pair}
timestep        $({dt}/(2*PI))   # {dt} hbar/t; one lj time unit is h/t
fix             llg all llg alpha {alpha}
compute         spin all property/atom spx spy spz fmx fmy fmz
dump            spins all custom {every} spins.dump id type x y z &
                c_spin[1] c_spin[2] c_spin[3] c_spin[4] c_spin[5] c_spin[6]
dump_modify     spins sort id colname 6 spx colname 7 spy colname 8 spz colname 9 fmx colname 10 fmy colname 11 fmz
thermo_style    custom step time pe
thermo_modify   norm yes
thermo          {every}
run             {steps}
"""


def reference_pair_style(meta):
    """pair_style and pair_coeff lines of the exact reference the model was trained on."""
    ref = meta.get("reference", {})
    if ref.get("style") != "sd/tb" or not ref.get("text"):
        sys.exit(f"the model's metadata names no sd/tb reference (reference = {ref}); give --reference")
    text = ref["text"]
    text = text[len("sd/tb"):].strip() if text.startswith("sd/tb") else text
    return f"pair_style sd/tb {text}\npair_coeff * *"


def run_lammps(lmp, workdir, script, log_name="log.lammps"):
    """Start LAMMPS on a script in workdir; returns the process."""
    os.makedirs(workdir, exist_ok=True)
    if os.path.exists(os.path.join(workdir, "finished")):
        os.remove(os.path.join(workdir, "finished"))
    with open(os.path.join(workdir, "in.lmp"), "w") as fh:
        fh.write(script)
    return subprocess.Popen([lmp, "-in", "in.lmp", "-log", log_name, "-screen", "none", "-nocite"], cwd=workdir,
                            env=dict(os.environ, **MPI_ENV))


def wait(runs):
    """Wait for {name: (workdir, process)}; a run that succeeded is marked finished."""
    for name, (workdir, proc) in runs.items():
        if proc.wait() != 0:
            sys.exit(f"the {name} run failed: see its log.lammps")
        open(os.path.join(workdir, "finished"), "w").close()


def finished_with(workdir, script):
    """True if workdir holds a finished run of exactly this script."""
    try:
        with open(os.path.join(workdir, "in.lmp")) as fh:
            same = fh.read() == script
    except OSError:
        return False
    return same and os.path.exists(os.path.join(workdir, "finished"))


def observables(workdir, lattice):
    """time, energy per site and order parameters of every snapshot of a run."""
    thermo = read_thermo(os.path.join(workdir, "log.lammps"))
    order = square_order if lattice == "square" else triangular_order
    # thermo time is in lj time units, h/t = 2 pi hbar/t
    series = {"time": 2 * np.pi * np.asarray(thermo["Time"]), "energy": thermo["PotEng"]}
    values = [order(frame) for frame in read_dump(os.path.join(workdir, "spins.dump"))]
    for key in values[0]:
        series[key] = np.array([v[key] for v in values])
    return series


def plot(ed, ml, lattice, title, out):
    keys = ["energy"] + (["abs_chirality", "chirality"] if lattice == "triangular" else ["ferro_weight", "neel_weight"])
    labels = {"energy": "energy per site (t)", "abs_chirality": r"$\langle|\chi|\rangle$",
              "chirality": r"$\langle\chi\rangle$", "ferro_weight": r"$S(0)/N$ (ferro)",
              "neel_weight": r"$S(\pi,\pi)/N$ (Neel)"}
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, key in zip(axes, keys):
        ax.plot(ed["time"], ed[key], "-", color="black", label="ED (sd/tb)")
        ax.plot(ml["time"], ml[key], "--", color="tab:red", label="ML (mlspin)")
        ax.set_xlabel("t (1 / t_hop)")
        ax.set_ylabel(labels[key])
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model file of pair_style mlspin")
    parser.add_argument("--lattice", choices=sorted(LATTICES), required=True)
    parser.add_argument("--L", type=int, default=24, help="L x L sites (default 24)")
    parser.add_argument("--steps", type=int, default=400, help="LLG steps (default 400)")
    parser.add_argument("--every", type=int, default=20, help="steps between samples (default 20)")
    parser.add_argument("--dt", type=float, default=0.05, help="time step in hbar/t (default 0.05; LAMMPS gets dt/(2 pi) lj time units)")
    parser.add_argument("--alpha", type=float, default=0.5, help="Gilbert damping (default 0.5)")
    parser.add_argument("--seed", type=int, default=4242, help="random initial spins")
    parser.add_argument("--species", default=None, help="species name of type 1 (default: the model's first)")
    parser.add_argument("--reference", default=None, help="sd/tb arguments, instead of the model's metadata")
    parser.add_argument("--lmp", default=default_lmp(), help="LAMMPS executable with the mlspin plugin")
    parser.add_argument("--out", default="validation", help="output folder (default ./validation)")
    parser.add_argument("--ed-only", action="store_true", help="only the ED run (it is reused by later calls)")
    args = parser.parse_args()

    _, meta = load_model(args.model)
    species = args.species or meta["species"][0]
    ed_pair = f"pair_style sd/tb {args.reference}\npair_coeff * *" if args.reference else reference_pair_style(meta)
    ml_pair = f"pair_style mlspin\npair_coeff * * {os.path.abspath(args.model)} {species}"
    out = os.path.abspath(os.path.join(args.out, f"{args.lattice}_{args.L}x{args.L}"))
    os.makedirs(out, exist_ok=True)

    lattice = LATTICES[args.lattice].format(L=args.L, rho=1 / H, h=H, ly=args.L * H, tilt=0.5 * args.L)
    setup = SETUP.format(lattice=lattice, seed=args.seed)
    # the ED run does not depend on the model: a finished one from the same initial spins
    # (same setup) and the same script is reused
    same_initial_spins = finished_with(out, setup)
    if not same_initial_spins:
        wait({"setup": (out, run_lammps(args.lmp, out, setup, "log.setup"))})
    common = dict(dt=args.dt, alpha=args.alpha, every=args.every, steps=args.steps)
    runs = {}
    for name, pair in (("ed", ed_pair), ("ml", ml_pair)):
        workdir, script = os.path.join(out, name), RUN.format(pair=pair, **common)
        if name == "ed" and same_initial_spins and finished_with(workdir, script):
            print(f"validate: reusing the finished ED run in {workdir} (same initial spins and script)")
        elif name == "ed" or not args.ed_only:
            runs[name] = (workdir, run_lammps(args.lmp, workdir, script))
    print(f"validate: {' and '.join(n.upper() for n in runs)} run(s) of {args.steps} steps on {args.L}x{args.L} "
          f"({args.lattice}) in {out}", flush=True)
    start = time.time()
    wait(runs)
    print(f"validate: runs finished after {time.time() - start:.0f} s")
    if args.ed_only:
        return

    ed, ml = observables(os.path.join(out, "ed"), args.lattice), observables(os.path.join(out, "ml"), args.lattice)
    deviations = {key: float(np.max(np.abs(ed[key] - ml[key]))) for key in ed if key != "time"}
    title = (f"{args.lattice} {args.L}x{args.L}: ED-LLG vs ML-LLG, alpha {args.alpha}, dt {args.dt}; "
             f"{os.path.basename(os.path.dirname(os.path.abspath(args.model)))}")
    plot(ed, ml, args.lattice, title, os.path.join(out, "validation.png"))
    with open(os.path.join(out, "deviations.json"), "w") as fh:
        json.dump({"deviations": deviations, "ed_final": {k: float(v[-1]) for k, v in ed.items()},
                   "ml_final": {k: float(v[-1]) for k, v in ml.items()}}, fh, indent=1)
    print("largest deviation between ED and ML over the run:")
    for key, value in deviations.items():
        print(f"  {key:15s} {value:.3e}   (ED final {ed[key][-1]: .5f}, ML final {ml[key][-1]: .5f})")
    print(f"figure: {os.path.join(out, 'validation.png')}")


if __name__ == "__main__":
    main()
