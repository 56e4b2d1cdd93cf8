#!/usr/bin/python3
"""How far the exact field reaches, with pair_style sd/tb. Two measures:

    locality.py response --dump TRAJ.dump --frames 6,12 --centers 0,300 --data LATTICE.data \
        --ham "hop 1.0 J 3.0 mu -3.3 kT 0.2 solver ed" [--lmp build/lmp] [--work DIR]

Linear response. For each snapshot and center c, the spin S_c is rotated by 1e-4
about two axes perpendicular to it; the change of the transverse field of every
site j gives the block dH_j / dS_c (a column of the Hessian of the energy).
Printed per neighbor shell r: the RMS block norm and the fraction of the total
squared response (sites j != c) that lies beyond r.

    locality.py reach --lattice triangular --L 24 --data LATTICE.data --ham "..." \
        [--kind random] [--radii 2,3,4,6,8] [--centers 6] [--samples 5] [--seed 7]

Reach. For each of --centers configurations of --kind (make_configs.py's kinds)
and a random center c, the spins farther than R from c are replaced --samples
times by those of fresh configurations of that kind, the rest kept. The spread
of the transverse field at c over these samples is what no model that sees only
the spins within R of c can predict: E Var(h_c | spins within R) over E |h|^2 is
the smallest 1 - R^2 such a model can reach on configurations of that kind. The
fields of a local energy model of stencil radius R depend on spins within 2 R.
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

from make_configs import CONFIG_STATES, Generator, periodic_distance, read_dump_spins, write_atomfiles  # noqa: E402
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


def response_table(frames, centers):
    """Squared response per site for each (snapshot, center), with distances."""
    rows = []
    k = 0
    while k < len(frames):
        base = frames[k]
        h0 = transverse_field(base)
        xy = base.positions[:, :2]
        k += 1
        for c in centers:
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


def reach_configs(gen, kind, n_centers, radii, samples):
    """Per center: a configuration, then for each radius `samples` copies whose
    spins beyond the radius come from fresh configurations of the same kind."""
    make = getattr(gen, kind)
    configs, labels = [], []
    for k in range(n_centers):
        c = int(gen.rng.integers(len(gen.xy)))
        base = make()[1]
        configs.append(base)
        labels.append((k, c, None))
        outside = periodic_distance(gen.xy, gen.xy[c], gen.cell) > np.array(radii)[:, None] + 1e-6
        for r, out in zip(radii, outside):
            for _ in range(samples):
                s = base.copy()
                s[out] = make()[1][out]
                configs.append(s)
                labels.append((k, c, r))
    return configs, labels


def conditional_spread(fields, labels, radius):
    """Per configuration: the unbiased variance (summed over components) of the
    field at its center over the configuration and its resampled copies at radius."""
    spread = []
    for k in sorted({lab[0] for lab in labels}):
        rows = [i for i, lab in enumerate(labels) if lab[0] == k and lab[2] in (None, radius)]
        c = labels[rows[0]][1]
        spread.append(np.array([fields[i][c] for i in rows]).var(0, ddof=1).sum())
    return np.array(spread)


def print_reach(frames, labels, radii):
    h = [transverse_field(f) for f in frames]
    total = np.mean([(h[i] ** 2).sum(1).mean() for i, lab in enumerate(labels) if lab[2] is None])
    print(f"E |h_perp|^2 over all sites of the configurations: {total:.4e}")
    print(f"{'R':>5} {'E Var(h_c | spins within R)':>28} {'smallest 1 - R^2':>17}")
    for r in radii:
        spread = conditional_spread(h, labels, r)
        mean, err = spread.mean(), spread.std(ddof=1) / np.sqrt(len(spread))
        print(f"{r:5.2f} {mean:17.3e} +- {err:.1e} {mean / total:10.2e} +- {err / total:.1e}")


def evaluate(configs, args):
    """Exact energies and fields of the configurations (in.sd_tb_configs)."""
    os.makedirs(args.work, exist_ok=True)
    prefix = os.path.join(args.work, "probe")
    write_atomfiles(prefix, configs, ["probe"] * len(configs))  # in.sd_tb_configs starts probe.dump afresh
    cmd = [args.lmp, "-in", os.path.join(HERE, "in.sd_tb_configs"), "-log", "none", "-screen", "none",
           "-var", "name", "probe", "-var", "data", os.path.abspath(args.data), "-var", "cfg", "probe",
           "-var", "n", str(len(configs)), "-var", "ham", args.ham]
    print(f"{len(configs)} sd/tb evaluations ...", flush=True)
    subprocess.run(cmd, cwd=args.work, check=True)
    return list(read_dump(prefix + ".dump"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="measure", required=True)
    resp = sub.add_parser("response", help="linear response of every field to one spin, by shell")
    resp.add_argument("--dump", required=True, help="trajectory or configurations (dataset format) to take snapshots from")
    resp.add_argument("--frames", default="0", help="snapshot indices, comma separated")
    resp.add_argument("--centers", default="0", help="atom indices (0-based) whose spins are rotated")
    resp.add_argument("--shells", type=int, default=24, help="neighbor shells to print")
    reach = sub.add_parser("reach", help="spread of a field when the spins beyond R change")
    reach.add_argument("--lattice", required=True, choices=["square", "triangular"])
    reach.add_argument("--L", type=int, required=True, help="lattice size of --data (made by make_configs.py lattice)")
    reach.add_argument("--kind", default="random", choices=["random", "noisy", "domains", "texture"])
    reach.add_argument("--states", default=None, help="ordered states of --kind noisy/domains/texture (default: those of make_configs.py configs)")
    reach.add_argument("--max-domains", type=int, default=6)
    reach.add_argument("--max-noise", type=float, default=0.8)
    reach.add_argument("--radii", default="2,3,4,6,8", help="radii R, lattice constants")
    reach.add_argument("--centers", type=int, default=6, help="configurations (one random center each)")
    reach.add_argument("--samples", type=int, default=5, help="resampled surroundings per configuration and radius")
    reach.add_argument("--seed", type=int, default=7)
    for p in (resp, reach):
        p.add_argument("--data", required=True, help="LAMMPS data file of the lattice")
        p.add_argument("--ham", required=True, help="pair_style sd/tb arguments")
        p.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
        p.add_argument("--work", default="locality_probe", help="folder for the probe configurations and results")
    args = ap.parse_args()

    if args.measure == "response":
        indices = [int(x) for x in args.frames.split(",")]
        centers = [int(x) for x in args.centers.split(",")]
        frames = evaluate(probe_configs(read_dump_spins(args.dump), indices, centers), args)
        print_shells(response_table(frames, centers), args.shells)
        return
    states = args.states.split(",") if args.states else CONFIG_STATES[args.lattice]
    gen = Generator(args.lattice, args.L, states, args.max_domains, args.max_noise, np.random.default_rng(args.seed))
    radii = [float(r) for r in args.radii.split(",")]
    configs, labels = reach_configs(gen, args.kind, args.centers, radii, args.samples)
    frames = evaluate(configs, args)
    if not np.allclose(frames[0].positions[:, :2] - frames[0].positions[0, :2], gen.xy - gen.xy[0], atol=1e-6):
        raise SystemExit(f"{args.data} is not the {args.L}x{args.L} {args.lattice} lattice of make_configs.py (atom order ID = 1 + a + L b)")
    print_reach(frames, labels, radii)


if __name__ == "__main__":
    main()
