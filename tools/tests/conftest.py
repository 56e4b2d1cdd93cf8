"""Shared fixtures: small models and toy data sets built by the tests themselves."""

import os
import sys
import warnings

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlspin_train.continuous_descriptor import ContinuousDescriptorConfig  # noqa: E402
from mlspin_train.lattice_descriptor import LatticeDescriptorConfig  # noqa: E402
from mlspin_train.model import MLSpinModel  # noqa: E402
from mlspin_train.runtime import blas_state, restore_blas_state  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def restore_thread_settings():
    """Every test starts with the thread counts the previous one started with:
    commands set torch's and the BLAS's threads (--threads), and descriptor tables
    built later can depend on the BLAS count."""
    torch_n, interop_n, blas = torch.get_num_threads(), torch.get_num_interop_threads(), blas_state()
    yield
    if torch.get_num_threads() != torch_n:
        torch.set_num_threads(torch_n)
    if torch.get_num_interop_threads() != interop_n:
        try:
            torch.set_num_interop_threads(interop_n)
        except RuntimeError as e:  # settable only before the first inter-op parallel work
            warnings.warn(f"could not restore torch's inter-op threads to {interop_n}: {e}")
    if blas_state() != blas:
        restore_blas_state(blas)


def lattice_model(lattice="square", radius=2.0, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = {"descriptor": LatticeDescriptorConfig(lattice=lattice, radius=radius, **kw).to_dict(), "species": ["site"], "hidden": [16, 16], "activation": "silu"}
    return MLSpinModel(cfg)


def continuous_model(n_species=1, cutoff=2.5, seed=0, lmax=2):
    torch.manual_seed(seed)
    cfg = {
        "descriptor": ContinuousDescriptorConfig(cutoff=cutoff, n_species=n_species, n_radial=4, lmax=lmax).to_dict(),
        "species": [f"X{k}" for k in range(n_species)],
        "hidden": [16, 16],
        "activation": "tanh",
    }
    return MLSpinModel(cfg)


def random_unit(n, rng):
    s = rng.normal(size=(n, 3))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


def random_rotation(rng, proper=True):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if (np.linalg.det(q) > 0) != proper:
        q[:, 0] *= -1
    return q


@pytest.fixture(scope="session")
def toy_square(tmp_path_factory):
    """6x6 square-lattice toy s-d data: 48 random spin snapshots + 16 from 2 quenches."""
    from mlspin_train import toy_sd

    name = str(tmp_path_factory.mktemp("toy") / "square")
    toy_sd.generate(name, "square", 6, toy_sd.SDModel(J=6.0, filling=0.485, kT=0.02), n_random=48, n_quench=2, quench_steps=40, quench_every=5, seed=5)
    return name
