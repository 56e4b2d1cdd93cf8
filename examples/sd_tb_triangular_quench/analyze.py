#!/usr/bin/python3
"""Read a trajectory in the dataset format (NAME.dump, NAME.energy) of
examples/sd_tb_triangular_quench and print, per snapshot, the energy per site, the
mean scalar chirality chi = s_i.(s_j x s_k) of the up triangles (+-4/(3 sqrt3) = 0.770
in the tetrahedral state), its mean modulus, and the largest |fm - J |S| m_e| as a
consistency check of the fields.

    python3 analyze.py [NAME] [J]        (defaults: triangular_quench 3.0)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402

from mlspin_train.analysis import sd_field_residual, triangle_chirality  # noqa: E402
from mlspin_train.dataset import read_dataset  # noqa: E402


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "triangular_quench"
    J = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
    print("%8s %14s %12s %12s %14s" % ("step", "E/N", "<chi>", "<|chi|>", "max|fm-J|S|m|"))
    for frame in read_dataset(name).frames:
        chi, _ = triangle_chirality(frame)
        print("%8d %14.8f %12.5f %12.5f %14.2e" % (frame.step, frame.energy / frame.n_atoms, chi.mean(),
                                                   np.abs(chi).mean(), sd_field_residual(frame, J)))


if __name__ == "__main__":
    main()
