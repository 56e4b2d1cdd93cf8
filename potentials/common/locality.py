#!/usr/bin/python3
"""How far the exact field reaches: linear response of the transverse field of
every site to a small rotation of one spin, with pair_style sd/tb.

    locality.py --dump TRAJ.dump --frames 6,12 --centers 0,300 --data LATTICE.data \
        --ham "hop 1.0 J 3.0 mu -3.3 kT 0.2 solver ed" [--lmp build/lmp] [--work DIR]

For each snapshot and center c, the spin S_c is rotated by 1e-4 about two axes
perpendicular to it; the change of the transverse field of every site j gives
the block dH_j / dS_c (a column of the Hessian of the energy). Printed per
neighbor shell r: the RMS block norm and the fraction of the total squared
response (sites j != c) that lies beyond r. The fields of a local energy model
with stencil radius R can respond only within 2 R; the table shows how much of
the exact response such a model can describe.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, HERE)

from make_configs import periodic_distance, read_dump_spins, write_atomfiles  # noqa: E402
from mlspin_train.dataset import read_dump  # noqa: E402
from mlspin_train.physics import transverse  # noqa: E402

DELTA = 1e-4


def perpendicular_axes(v):
    e1 = np.cross(v, [0.3, 0.5, 0.81])
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(v, e1)


def probe_configs(frames, indices, centers):
    """Each snapshot, then for each center the snapshot with S_c rotated twice."""
    configs = []
    for k in indices:
        spins = frames[k][1]
        configs.append(spins)
        for c in centers:
            for e in perpendicular_axes(spins[c]):
                s = spins.copy()
                w = spins[c] + DELTA * e
                s[c] = w / np.linalg.norm(w)
                configs.append(s)
    return configs


def transverse_field(frame):
    return transverse(torch.from_numpy(frame.fm), torch.from_numpy(frame.spins)).numpy()


def response_table(frames, n_centers, centers):
    """Squared response per site for each (snapshot, center), with distances."""
    rows = []
    k = 0
    while k < len(frames):
        base = frames[k]
        h0 = transverse_field(base)
        xy = base.positions[:, :2]
        k += 1
        for c in centers[:n_centers]:
            resp = np.zeros(base.n_atoms)
            for _ in range(2):
                f = frames[k]
                resp += (((transverse_field(f) - h0) / DELTA) ** 2).sum(1)
                k += 1
            rows.append((periodic_distance(xy, xy[c], base.box.cell[:2, :2]), resp))
    return rows


def print_shells(rows, max_shells):
    radii = np.round(np.concatenate([r for r, _ in rows]), 3)
    shells = np.unique(radii)[1 : max_shells + 1]
    print(f"{'r':>7} {'rms |dH_j/dS_c|':>16} {'fraction beyond r':>18}")
    for sh in shells:
        inside = sum(resp[(r > 0) & (np.round(r, 3) <= sh)].sum() / resp[r > 0].sum() for r, resp in rows) / len(rows)
        at = np.concatenate([resp[np.round(r, 3) == sh] for r, resp in rows])
        print(f"{sh:7.3f} {np.sqrt(at.mean()):16.3e} {1 - inside:18.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", required=True, help="trajectory or configurations (dataset format) to take snapshots from")
    ap.add_argument("--frames", default="0", help="snapshot indices, comma separated")
    ap.add_argument("--centers", default="0", help="atom indices (0-based) whose spins are rotated")
    ap.add_argument("--data", required=True, help="LAMMPS data file of the lattice")
    ap.add_argument("--ham", required=True, help="pair_style sd/tb arguments")
    ap.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
    ap.add_argument("--work", default="locality_probe", help="folder for the probe configurations and results")
    ap.add_argument("--shells", type=int, default=24, help="neighbor shells to print")
    args = ap.parse_args()

    indices = [int(x) for x in args.frames.split(",")]
    centers = [int(x) for x in args.centers.split(",")]
    configs = probe_configs(read_dump_spins(args.dump), indices, centers)
    os.makedirs(args.work, exist_ok=True)
    prefix = os.path.join(args.work, "probe")
    write_atomfiles(prefix, configs, ["probe"] * len(configs))  # in.sd_tb_configs starts probe.dump afresh
    cmd = [args.lmp, "-in", os.path.join(HERE, "in.sd_tb_configs"), "-log", "none", "-screen", "none",
           "-var", "name", "probe", "-var", "data", os.path.abspath(args.data), "-var", "cfg", "probe",
           "-var", "n", str(len(configs)), "-var", "ham", args.ham]
    print(f"{len(configs)} sd/tb evaluations ...", flush=True)
    subprocess.run(cmd, cwd=args.work, check=True)
    frames = list(read_dump(prefix + ".dump"))
    print_shells(response_table(frames, len(centers), centers), args.shells)


if __name__ == "__main__":
    main()
