#!/usr/bin/env python3
"""Read a trajectory in the dataset format (NAME.dump, NAME.energy) of
examples/sd_tb_triangular_quench and print, per snapshot, the energy per site, the
mean scalar chirality chi = s_i.(s_j x s_k) of the up triangles (+-4/(3 sqrt3) = 0.770
in the tetrahedral state), its mean modulus, and the largest |fm - J |S| m_e| as a
consistency check of the fields.

    python3 analyze.py [NAME] [J]        (defaults: triangular_quench 3.0)
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


def up_triangles(x, y):
    """Index triples (i, i+a1, i+a2) of the triangular lattice, from the positions."""
    h = np.sqrt(3) / 2
    n2 = np.rint(y / h - 0.1).astype(int)
    n1 = np.rint(x - 0.5 * (n2 + 0.1) - 0.1).astype(int)
    L = int(round(np.sqrt(len(x))))
    index = {(a % L, b % L): i for i, (a, b) in enumerate(zip(n1, n2))}
    return np.array([(index[(a % L, b % L)], index[((a + 1) % L, b % L)], index[(a % L, (b + 1) % L)])
                     for a, b in zip(n1, n2)])


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "triangular_quench"
    J = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    frames = read_dump(name + ".dump")
    energy = read_energy(name + ".energy")
    tri = None
    print("%8s %14s %12s %12s %14s" % ("step", "E/N", "<chi>", "<|chi|>", "max|fm-J|S|m|"))
    for step, a in frames:
        if tri is None:
            tri = up_triangles(a["x"], a["y"])
        s = np.stack([a["spx"], a["spy"], a["spz"]], 1)
        chi = np.einsum("ij,ij->i", s[tri[:, 0]], np.cross(s[tri[:, 1]], s[tri[:, 2]]))
        fm = np.stack([a["fmx"], a["fmy"], a["fmz"]], 1)
        me = np.stack([a["mex"], a["mey"], a["mez"]], 1)
        check = np.abs(fm - J * a["sp"][:, None] * me).max()
        print("%8d %14.8f %12.5f %12.5f %14.2e" % (step, energy[step] / len(s), chi.mean(), np.abs(chi).mean(), check))


if __name__ == "__main__":
    main()
