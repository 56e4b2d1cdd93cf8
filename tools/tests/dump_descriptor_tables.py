"""Dump or compare the lattice descriptor tables (numpy only, no torch).

    python3 dump_descriptor_tables.py dump OUT.npz
    python3 dump_descriptor_tables.py compare A.npz B.npz [...]

The tables must not depend on the machine: run ``dump`` under other OpenBLAS
kernels and thread counts (OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS) and
``compare`` the files. The cases are the settings of the shipped potentials
(potentials/*/regenerate.sh), those of test_descriptor_values.py, one with
chiral invariants of both parities, and the irreps of D4 and D6.
``compare`` prints the largest difference of the coefficients and exits with
status 1 if an index table or a shape differs from the first
file's or a coefficient by more than 1e-12."""

import ctypes
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlspin_train.lattice_tables import LatticeDescriptorConfig, build_tables  # noqa: E402
from mlspin_train.symmetry import DihedralGroup  # noqa: E402

TOLERANCE = 1e-12

CASES = {
    # potentials/square_double_exchange/regenerate.sh, triangular_chiral/regenerate.sh
    "square_shipped": dict(lattice="square", radius=4.0, cross_radius=2.7, bond_shells=2),
    "triangular_shipped": dict(lattice="triangular", radius=4.0, cross_radius=3.2, bond_shells=2),
    # test_descriptor_values.py
    "square_r3": dict(lattice="square", radius=3.0),
    "triangular_r3": dict(lattice="triangular", radius=3.0),
    "square_r2_options": dict(lattice="square", radius=2.0, time_reversal=False, bond_shells=2, chiral_radius=2.0, ref_decay=0.0),
    # odd chiralities kept, larger triangles
    "triangular_chiral": dict(lattice="triangular", radius=2.5, time_reversal=False, tri_shells=2, cross_radius=2.0),
}


def openblas_core() -> str:
    """The kernel OpenBLAS runs (numpy's BLAS), or '' without OpenBLAS."""
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
        if hasattr(lib, "openblas_get_corename"):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
    return ""


def tables() -> dict:
    out = {}
    for case, kw in CASES.items():
        for key, value in build_tables(LatticeDescriptorConfig(**kw)).items():
            if isinstance(value, np.ndarray):
                out[f"{case}/{key}"] = value
    for n, phi in ((4, 0.0), (6, 0.0), (6, 0.3)):
        for irrep in DihedralGroup(n, phi).irreps:
            out[f"D{n}_phi{phi}/{irrep.name}"] = irrep.matrices
    return out


def differences(first: dict, other: dict):
    """(largest coefficient difference, list of problems)."""
    problems = [f"{k} missing" for k in sorted(set(first) ^ set(other))]
    worst = 0.0
    for key in sorted(set(first) & set(other)):
        a, b = first[key], other[key]
        if a.shape != b.shape or a.dtype != b.dtype:
            problems.append(f"{key}: shape or type {b.shape} {b.dtype} against {a.shape} {a.dtype}")
        elif a.dtype.kind in "iuU":
            if not np.array_equal(a, b):
                problems.append(f"{key}: index tables differ")
        elif a.size:
            diff = float(np.abs(a - b).max())
            worst = max(worst, diff)
            if diff > TOLERANCE:
                problems.append(f"{key}: coefficients differ by {diff:.3g}")
    return worst, problems


def main(argv) -> int:
    if len(argv) == 2 and argv[0] == "dump":
        np.savez(argv[1], **tables())
        print(f"wrote {argv[1]} (OpenBLAS core {openblas_core() or 'none'}, threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')})")
        return 0
    if len(argv) >= 3 and argv[0] == "compare":
        loaded = [dict(np.load(path)) for path in argv[1:]]
        status = 0
        for path, other in zip(argv[2:], loaded[1:]):
            worst, problems = differences(loaded[0], other)
            print(f"{path}: max coefficient difference {worst:.3g} against {argv[1]}")
            for p in problems:
                print("  " + p)
            status |= bool(problems)
        return status
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
