#!/usr/bin/python3
"""ML-LLG against canonical ED-LLG: quenches from the same random spins, same lattice,
same integrator (potentials/common/in.sd_tb_trajectory), compared snapshot by snapshot
in the observables of the phase separation.

    compare_llg.py --pair ED_NAME ML_NAME [--pair ...] [--json OUT.json] [--plot OUT.png]

Each NAME is a data set of in.sd_tb_trajectory (NAME.dump with the spins and the local
electron numbers ne, NAME.energy with the energy F of each snapshot). The quench is
chaotic, so single spins diverge between the two runs after a short time; what must agree
is the course of the observables: the free energy per site F/N, the mean local Neel and
ferromagnetic order <N_i>, <F_i> (compute mlspin/order square), the fraction of
ferromagnetic sites (F_i > N_i), the spread std(n_i) of the local electron numbers and the
fraction of the holes (1 - n_i) that sit on ferromagnetic sites. Per observable the table
gives both runs at each time (means over the pairs when there are several seeds) and the
largest difference over the run.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "ml_square_phase_separation"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from analyze import fm_mask, hole_summary, local_order, read_dump  # noqa: E402
from mlspin_train.dataset import read_dataset  # noqa: E402

OBSERVABLES = ("F_per_site", "neel_mean", "fm_mean", "fm_fraction", "n_std", "holes_in_fm")


def site_grid(columns, lengths, origin, names):
    """Columns as L x L arrays indexed by site (spacing 1)."""
    lx, ly = int(round(lengths[0])), int(round(lengths[1]))
    ix = np.rint(columns["x"] - origin[0] - 0.1).astype(int) % lx    # make_configs lattices sit at +0.1
    iy = np.rint(columns["y"] - origin[1] - 0.1).astype(int) % ly
    out = {}
    for name in names:
        grid = np.empty((lx, ly))
        grid[ix, iy] = columns[name]
        out[name] = grid
    return out


def observables(name):
    """{step: {observable: value}} of one in.sd_tb_trajectory data set."""
    energy = {f.step: f.energy / f.n_atoms for f in read_dataset(name).frames}
    rows = {}
    for step, lengths, columns, origin in read_dump(name + ".dump"):
        g = site_grid(columns, lengths, origin, ("spx", "spy", "spz", "ne"))
        spins = np.stack([g["spx"], g["spy"], g["spz"]], -1)
        spins /= np.linalg.norm(spins, axis=-1, keepdims=True)
        neel, fm = local_order(spins)
        mask = fm_mask(neel, fm)
        _, n_std, inside = hole_summary(g["ne"], mask)
        rows[step] = {"F_per_site": energy[step], "neel_mean": float(neel.mean()), "fm_mean": float(fm.mean()),
                      "fm_fraction": float(mask.mean()), "n_std": n_std, "holes_in_fm": inside}
    return rows


def compare(pairs):
    """Mean over the pairs of each observable of both runs at the common steps."""
    runs = [(observables(ed), observables(ml)) for ed, ml in pairs]
    steps = sorted(set.intersection(*[set(e) & set(m) for e, m in runs]))
    table = []
    for step in steps:
        row = {"step": step}
        for obs in OBSERVABLES:
            row[obs] = [float(np.mean([e[step][obs] for e, _ in runs])), float(np.mean([m[step][obs] for _, m in runs]))]
        table.append(row)
    worst = {obs: max(abs(r[obs][0] - r[obs][1]) for r in table) for obs in OBSERVABLES}
    return table, worst


def plot(path, table, dt):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([r["step"] for r in table]) * dt
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    for ax, obs in zip(axes.ravel(), OBSERVABLES):
        ax.plot(t, [r[obs][0] for r in table], "o-", label="ED-LLG (sd/tb, canonical)")
        ax.plot(t, [r[obs][1] for r in table], "s--", label="ML-LLG (mlspin filling)")
        ax.set_xlabel("t (hbar/t)")
        ax.set_title(obs)
    axes[0, 0].legend(fontsize=8)
    fig.savefig(path, dpi=110)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pair", nargs=2, action="append", required=True, metavar=("ED", "ML"))
    p.add_argument("--dt", type=float, default=0.1, help="hbar/t per step")
    p.add_argument("--json")
    p.add_argument("--plot")
    a = p.parse_args(argv)
    table, worst = compare(a.pair)
    print("| t | " + " | ".join(f"{o} ED / ML" for o in OBSERVABLES) + " |")
    print("|---" * (len(OBSERVABLES) + 1) + "|")
    for r in table:
        print(f"| {r['step'] * a.dt:g} | " + " | ".join(f"{r[o][0]:.4f} / {r[o][1]:.4f}" for o in OBSERVABLES) + " |")
    print("| largest difference | " + " | ".join(f"{worst[o]:.4f}" for o in OBSERVABLES) + " |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"pairs": a.pair, "dt": a.dt, "table": table, "largest_difference": worst}, fh, indent=1)
    if a.plot:
        plot(a.plot, table, a.dt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
