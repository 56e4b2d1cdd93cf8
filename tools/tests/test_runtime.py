"""set_threads reaches the BLAS thread pool, not only torch's."""

import ctypes
import os

import pytest
import torch

from mlspin_train.runtime import blas_threads, set_threads


def loaded_openblas():
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
        if hasattr(lib, "openblas_get_num_threads"):
            return lib
    return None


@pytest.mark.parametrize("n", [1, 2])
def test_set_threads_sets_torch_and_openblas(n):
    set_threads(n)
    assert torch.get_num_threads() == n
    lib = loaded_openblas()
    if lib is None:
        pytest.skip("the BLAS behind torch is not OpenBLAS")
    assert lib.openblas_get_num_threads() == n
    assert blas_threads() == n
