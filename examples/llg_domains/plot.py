#!/usr/bin/python3
"""Plot the LLG domain-coarsening example: s_z map of the last snapshot and the
energy / easy-axis order against time. Usage: plot.py [log.lammps] [dump.llg_domains] [out.png]"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlspin_train.analysis import read_thermo  # noqa: E402


def read_last_snapshot(path):
    """Last snapshot of a dump custom file: (column names, array)."""
    with open(path) as f:
        lines = f.readlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("ITEM: TIMESTEP"))
    natoms = int(lines[start + 3])
    names = lines[start + 8].split()[2:]
    data = np.loadtxt(lines[start + 9:start + 9 + natoms])
    return names, data


def main():
    log = sys.argv[1] if len(sys.argv) > 1 else "log.lammps"
    dump = sys.argv[2] if len(sys.argv) > 2 else "dump.llg_domains"
    out = sys.argv[3] if len(sys.argv) > 3 else "llg_domains.png"
    thermo = read_thermo(log)
    names, snap = read_last_snapshot(dump)
    col = {n: k for k, n in enumerate(names)}
    spacing = 2.5
    ix = np.rint(snap[:, col["x"]] / spacing).astype(int)
    iy = np.rint(snap[:, col["y"]] / spacing).astype(int)
    grid = np.zeros((iy.max() + 1, ix.max() + 1))
    grid[iy, ix] = snap[:, col["c_s[3]"]]

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8))
    image = left.imshow(grid, origin="lower", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    left.set_title(f"$s_z$ at t = {thermo['v_time'][-1]:.1f} ps")
    left.set_xlabel("x (sites)")
    left.set_ylabel("y (sites)")
    fig.colorbar(image, ax=left, shrink=0.85)

    t = thermo["v_time"]
    right.plot(t, thermo["PotEng"] * 1e3, color="tab:blue")
    right.set_xlabel("t (ps)")
    right.set_ylabel("energy per spin (meV)", color="tab:blue")
    twin = right.twinx()
    twin.plot(t, thermo["c_order"], color="tab:red")
    twin.set_ylabel(r"easy-axis order $\langle |s_z| \rangle$", color="tab:red")
    twin.set_ylim(0, 1)
    right.set_title("damped LLG quench from random spins")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
