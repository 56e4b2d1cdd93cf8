"""The toy exact diagonalization used to make test data: Hellmann-Feynman
fields against finite differences of the free energy."""

import numpy as np
import pytest

from mlspin_train.lattice import make_lattice
from mlspin_train.toy_sd import SDModel, SDSystem, random_spins


@pytest.mark.parametrize("kind,hop", [("square", (1.0,)), ("triangular", (1.0, 0.3))])
def test_fields_are_minus_energy_gradient(kind, hop):
    pos, box = make_lattice(kind, 4, 4)
    system = SDSystem(SDModel(hop=hop, J=3.0, filling=0.3, kT=0.05), pos, box)
    rng = np.random.default_rng(2)
    spins = random_spins(len(pos), rng)
    _, field, _, _ = system.solve(spins)
    eps = 1e-5
    for i, a in [(0, 0), (5, 1), (11, 2), (15, 0)]:
        up, down = spins.copy(), spins.copy()
        up[i, a] += eps
        down[i, a] -= eps
        fd = -(system.solve(up)[0] - system.solve(down)[0]) / (2 * eps)
        assert abs(fd - field[i, a]) < 1e-7 * max(1.0, abs(fd))


def test_electron_count_and_hopping_shells():
    pos, box = make_lattice("triangular", 4, 4)
    system = SDSystem(SDModel(hop=(1.0, 0.3), J=2.0, filling=0.4, kT=0.02), pos, box)
    # six nearest and six second neighbors on the triangular lattice
    np.testing.assert_allclose(system.hopping.sum(1), -(6 * 1.0 + 6 * 0.3))
    _, _, density, _ = system.solve(random_spins(16, np.random.default_rng(0)))
    assert np.isclose(density.sum(), 2 * 16 * 0.4)


def test_ferromagnet_splits_bands_by_2J():
    # all spins along z: spin-up electrons see -J, spin-down +J; with a filling of
    # 1/4 at large J only the lower band is filled, each site holds 1/2 electron
    # fully polarized, so the field is J/2 along z
    pos, box = make_lattice("square", 4, 4)
    system = SDSystem(SDModel(J=10.0, filling=0.25, kT=0.01), pos, box)
    spins = np.tile([0.0, 0.0, 1.0], (16, 1))
    energy, field, density, espin = system.solve(spins)
    np.testing.assert_allclose(density, 0.5, atol=1e-9)
    np.testing.assert_allclose(field, np.tile([0, 0, 5.0], (16, 1)), atol=1e-6)
