"""set_threads reaches the BLAS thread pool, not only torch's."""

import ctypes
import os

import pytest
import torch

from mlspin_train.runtime import blas_state, blas_threads, restore_blas_state, set_threads

SESSION_BLAS_THREADS = blas_threads()  # read at collection, before any test ran


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


def test_blas_state_restores_the_thread_count():
    if blas_threads() is None:
        pytest.skip("no BLAS library found by threadpoolctl")
    saved = blas_state()
    before = blas_threads()
    set_threads(before + 1)
    assert blas_threads() == before + 1
    restore_blas_state(saved)
    assert blas_threads() == before
    assert blas_state() == saved


@pytest.mark.parametrize("n", [3, 1])
def test_no_test_inherits_thread_settings(n):
    """conftest's autouse fixture restores the counts after each test, so both
    cases start from the session's settings (torch: 1 thread)."""
    assert torch.get_num_threads() == 1
    assert blas_threads() == SESSION_BLAS_THREADS
    set_threads(n)
    assert torch.get_num_threads() == n
