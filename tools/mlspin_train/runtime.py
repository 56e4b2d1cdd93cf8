"""Thread settings of torch and of the BLAS library behind it (through threadpoolctl)."""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
from threadpoolctl import threadpool_info, threadpool_limits


def set_threads(n: int) -> None:
    """Use n threads in torch and in the BLAS libraries loaded in this process.

    Debian's torch does its CPU matrix products in the system BLAS; OpenBLAS
    (libopenblas0-pthread) keeps its own pool of one thread per core, which
    torch.set_num_threads does not change. On cores busy with other work (a
    second training, LAMMPS jobs) that pool makes the products of a training
    step about 15x slower, so it gets the same count."""
    torch.set_num_threads(n)
    threadpool_limits(limits=n, user_api="blas")


def blas_threads() -> Optional[int]:
    """The thread count of the loaded BLAS (None without one). Descriptor tables of
    version 1 depended on it (LAPACK's basis of degenerate irreps); version 2 tables
    are built without eigensolvers and do not."""
    counts = [lib["num_threads"] for lib in blas_state()]
    return counts[0] if counts else None


def blas_state() -> List[Dict]:
    """threadpoolctl's description of each loaded BLAS library, thread count included;
    ``restore_blas_state`` sets the counts back."""
    return [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]


def restore_blas_state(state: List[Dict]) -> None:
    if state:
        threadpool_limits(limits=state)
