"""Thread settings of torch and of the BLAS library behind it."""

from __future__ import annotations

import ctypes
import os
from typing import Optional

import torch


def set_threads(n: int) -> None:
    """Use n threads in torch and in OpenBLAS.

    Debian's torch does its CPU matrix products in the system BLAS; OpenBLAS
    (libopenblas0-pthread) keeps its own pool of one thread per core, which
    torch.set_num_threads does not change. On cores busy with other work (a
    second training, LAMMPS jobs) that pool makes the products of a training
    step about 15x slower, so it gets the same count. Other BLAS libraries are
    left alone."""
    torch.set_num_threads(n)
    for lib in _openblas():
        lib.openblas_set_num_threads(ctypes.c_int(n))


def blas_threads() -> Optional[int]:
    """OpenBLAS's thread count (None without OpenBLAS). The descriptor tables depend
    on it: the bases of degenerate irreps come from LAPACK's eigensolver, whose
    output within a degenerate subspace changes with the thread count (the saved
    tables of a model file do not)."""
    for lib in _openblas():
        return int(lib.openblas_get_num_threads())
    return None


def _openblas():
    """The loaded OpenBLAS libraries (those that export the thread functions)."""
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)  # only if loaded
        except OSError:
            continue
        if hasattr(lib, "openblas_set_num_threads") and hasattr(lib, "openblas_get_num_threads"):
            yield lib
