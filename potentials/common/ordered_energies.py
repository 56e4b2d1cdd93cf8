#!/usr/bin/python3
"""Exact grand potentials per site of the ordered states (make_configs.py's ordered
states) with pair_style sd/tb: which of them is the ground state of a reference.

    ordered_energies.py --lattice triangular --L 12 --data LATTICE.data \
        --ham "hop 1.0 J 3.0 mu -3.3 kT 0.4 solver ed" [--states ferro,stripe,120,tetra]

L must be a multiple of every state's period (2 for the tetrahedral and stripe states,
3 for the 120-degree state on the triangular lattice), so that each fits the torus.
Printed: the energy per site (the pe of sd/tb: the grand potential per site at kT > 0)
and the mean electron number per site of each state.
"""

import argparse
import os
import sys
from types import SimpleNamespace

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from locality import ROOT, evaluate  # noqa: E402
from make_configs import ordered, sites  # noqa: E402
from mlspin_train.dataset import read_energy  # noqa: E402  (locality.py put tools/ on the path)

DEFAULT_STATES = {"triangular": "ferro,stripe,120,tetra", "square": "ferro,stripe,neel"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lattice", required=True, choices=["square", "triangular"])
    ap.add_argument("--L", type=int, required=True, help="lattice size of --data (made by make_configs.py lattice)")
    ap.add_argument("--data", required=True, help="LAMMPS data file of the lattice")
    ap.add_argument("--ham", required=True, help="pair_style sd/tb arguments")
    ap.add_argument("--states", default=None, help="comma list (default: all of the lattice)")
    ap.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
    ap.add_argument("--work", default="ordered_energies", help="folder for the configurations and results")
    args = ap.parse_args()
    names = (args.states or DEFAULT_STATES[args.lattice]).split(",")
    a, b, _, _ = sites(args.lattice, args.L)
    frames = evaluate([ordered(args.lattice, name, a, b) for name in names],
                      SimpleNamespace(work=args.work, data=args.data, ham=args.ham, lmp=args.lmp))
    energies = [pe for _, pe in read_energy(os.path.join(args.work, "probe.energy"))[1]]
    electrons = [float(np.mean(frame.extra["ne"])) for frame in frames]  # compute sd/tb/electrons
    print(f"pair_style sd/tb {args.ham}, {args.lattice} {args.L}x{args.L}")
    print(f"{'state':>8s} {'energy/site':>12s} {'electrons/site':>15s}")
    for name, e, n in zip(names, energies, electrons):
        print(f"{name:>8s} {e / len(a):12.5f} {n:15.4f}")
    best = names[int(np.argmin(energies))]
    print(f"lowest: {best}")


if __name__ == "__main__":
    main()
