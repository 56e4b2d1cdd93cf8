#!/usr/bin/env python3
"""Read a trajectory in the dataset format (NAME.dump, NAME.energy) of
examples/sd_tb_square_quench and print, per snapshot, the energy per site, the mean
nearest-neighbour spin correlation <s_i.s_j> (-1 Neel, +1 ferro), the staggered and
uniform magnetisations, the spread of the electron density (phase separation into
hole-rich ferromagnetic and half-filled antiferromagnetic regions), and the largest
|fm - J |S| m_e| as a consistency check of the fields.

    python3 analyze.py [NAME] [J]        (defaults: square_quench 6.0)
"""
import sys
import numpy as np


def read_dump(path):
    frames = []
    with open(path) as f:
        lines = f.read().split("\n")
    k = 0
    while k < len(lines) and lines[k].startswith("ITEM: TIMESTEP"):
        step = int(lines[k + 1])
        n = int(lines[k + 3])
        names = lines[k + 8].split()[2:]
        data = np.array([[float(v) for v in line.split()] for line in lines[k + 9:k + 9 + n]])
        frames.append((step, {name: data[:, c] for c, name in enumerate(names)}))
        k += 9 + n
    return frames


def read_energy(path):
    rows = [line.split() for line in open(path) if line.strip() and not line.startswith("#")]
    return {int(r[0]): float(r[1]) for r in rows}


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "square_quench"
    J = float(sys.argv[2]) if len(sys.argv) > 2 else 6.0
    frames = read_dump(name + ".dump")
    energy = read_energy(name + ".energy")
    print("%8s %14s %10s %10s %10s %10s %14s" % ("step", "E/N", "<s.s>nn", "|M_stag|", "|M|", "std(n)",
                                                 "max|fm-J|S|m|"))
    grid = None
    for step, a in frames:
        ix, iy = np.rint(a["x"]).astype(int), np.rint(a["y"]).astype(int)
        L = ix.max() + 1
        if grid is None:
            grid = np.zeros((L, L), dtype=int)
            grid[ix, iy] = np.arange(len(ix))
        s = np.stack([a["spx"], a["spy"], a["spz"]], 1)[grid]       # L x L x 3
        nn = 0.5 * (np.sum(s * np.roll(s, 1, 0), 2) + np.sum(s * np.roll(s, 1, 1), 2)).mean()
        sign = (-1.0) ** np.add.outer(np.arange(L), np.arange(L))
        stag = np.linalg.norm((s * sign[:, :, None]).mean((0, 1)))
        mag = np.linalg.norm(s.mean((0, 1)))
        fm = np.stack([a["fmx"], a["fmy"], a["fmz"]], 1)
        me = np.stack([a["mex"], a["mey"], a["mez"]], 1)
        check = np.abs(fm - J * a["sp"][:, None] * me).max()
        print("%8d %14.8f %10.4f %10.4f %10.4f %10.4f %14.2e" % (step, energy[step] / len(ix), nn, stag, mag,
                                                                  a["ne"].std(), check))


if __name__ == "__main__":
    main()
