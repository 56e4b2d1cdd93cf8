#!/usr/bin/python3
"""Read a trajectory in the dataset format (NAME.dump, NAME.energy) of
examples/sd_tb_square_quench and print, per snapshot, the energy per site, the mean
nearest-neighbour spin correlation <s_i.s_j> (-1 Neel, +1 ferro), the staggered and
uniform magnetisations, the spread of the electron density (phase separation into
hole-rich ferromagnetic and half-filled antiferromagnetic regions), and the largest
|fm - J |S| m_e| as a consistency check of the fields.

    python3 analyze.py [NAME] [J]        (defaults: square_quench 6.0)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402

from mlspin_train.analysis import sd_field_residual, site_grid  # noqa: E402
from mlspin_train.dataset import read_dataset  # noqa: E402


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "square_quench"
    J = float(sys.argv[2]) if len(sys.argv) > 2 else 6.0
    print("%8s %14s %10s %10s %10s %10s %14s" % ("step", "E/N", "<s.s>nn", "|M_stag|", "|M|", "std(n)",
                                                 "max|fm-J|S|m|"))
    for frame in read_dataset(name).frames:
        grid, l1, l2 = site_grid(frame)
        s = frame.spin_dir[grid]                                      # L1 x L2 x 3
        nn = 0.5 * (np.sum(s * np.roll(s, 1, 0), 2) + np.sum(s * np.roll(s, 1, 1), 2)).mean()
        sign = (-1.0) ** np.add.outer(np.arange(l1), np.arange(l2))
        stag = np.linalg.norm((s * sign[:, :, None]).mean((0, 1)))
        mag = np.linalg.norm(s.mean((0, 1)))
        print("%8d %14.8f %10.4f %10.4f %10.4f %10.4f %14.2e" % (frame.step, frame.energy / frame.n_atoms, nn, stag,
                                                                  mag, frame.extra["ne"].std(), sd_field_residual(frame, J)))


if __name__ == "__main__":
    main()
