"""Continuous descriptor: spherical harmonics, invariances, smooth cutoff."""

import math

import numpy as np
import torch

from conftest import continuous_model, random_rotation, random_unit
from mlspin_train.continuous_descriptor import real_spherical_harmonics
from mlspin_train.dataset import Box
from mlspin_train.graph import build_graph


def legendre(l, x):
    return [np.ones_like(x), x, 0.5 * (3 * x**2 - 1), 0.5 * (5 * x**3 - 3 * x)][l]


def test_real_spherical_harmonics_obey_the_addition_theorem():
    rng = np.random.default_rng(0)
    u, v = random_unit(50, rng), random_unit(50, rng)
    yu = real_spherical_harmonics(torch.tensor(u), 3).numpy()
    yv = real_spherical_harmonics(torch.tensor(v), 3).numpy()
    cos = (u * v).sum(1)
    for l in range(4):
        block = slice(l * l, (l + 1) * (l + 1))
        lhs = (yu[:, block] * yv[:, block]).sum(1)
        np.testing.assert_allclose(lhs, (2 * l + 1) / (4 * math.pi) * legendre(l, cos), atol=1e-13)


def system(seed=0, n=14, n_species=2):
    """A periodic triclinic cell with random atoms (no two closer than 0.8)."""
    rng = np.random.default_rng(seed)
    cell = np.array([[4.2, 0.0, 0.0], [0.7, 3.9, 0.0], [-0.4, 0.5, 4.4]])
    pos = []
    while len(pos) < n:
        p = rng.uniform(size=3) @ cell
        if all(_min_image(p - q, cell) > 0.8 for q in pos):
            pos.append(p)
    box = Box(np.zeros(3), cell, np.array([True, True, True]))
    types = rng.integers(0, n_species, size=n)
    spins = random_unit(n, rng) * rng.uniform(0.6, 1.4, size=(n, 1))
    return np.array(pos), box, types, spins


def _min_image(d, cell):
    frac = np.linalg.solve(cell.T, d)
    frac -= np.round(frac)
    return np.linalg.norm(frac @ cell)


def energies(model, pos, box, types, spins):
    g = build_graph(pos, box, model.cutoff)
    return model(torch.tensor(spins), torch.tensor(types), torch.tensor(g.edge_index), torch.tensor(g.edge_vec), len(pos))


def test_invariant_under_rotations_of_space_and_of_spin_space():
    model = continuous_model(n_species=2, lmax=3)
    pos, box, types, spins = system()
    ref = energies(model, pos, box, types, spins)
    rng = np.random.default_rng(3)
    for proper in (True, False):
        r = random_rotation(rng, proper)
        rotated_box = Box(box.origin @ r.T, box.cell @ r.T, box.periodic)
        assert torch.allclose(energies(model, pos @ r.T, rotated_box, types, spins), ref, atol=1e-12)
        assert torch.allclose(energies(model, pos, box, types, spins @ r.T), ref, atol=1e-12)
    # space and spin rotated together (e.g. a rigid rotation of a magnetic crystal)
    r = random_rotation(rng)
    rotated_box = Box(box.origin @ r.T, box.cell @ r.T, box.periodic)
    assert torch.allclose(energies(model, pos @ r.T, rotated_box, types, spins @ r.T), ref, atol=1e-12)


def test_invariant_under_translations_and_permutations():
    model = continuous_model(n_species=2)
    pos, box, types, spins = system(seed=1)
    ref = energies(model, pos, box, types, spins)
    shifted = pos + np.array([1.7, -3.1, 0.45])  # atoms leave the cell: graph wraps them
    assert torch.allclose(energies(model, shifted, box, types, spins), ref, atol=1e-12)
    perm = np.random.default_rng(2).permutation(len(pos))
    out = energies(model, pos[perm], box, types[perm], spins[perm])
    assert torch.allclose(out, ref[torch.tensor(perm)], atol=1e-12)


def test_species_and_distances_matter():
    model = continuous_model(n_species=2)
    pos, box, types, spins = system(seed=1)
    ref = energies(model, pos, box, types, spins)
    assert (energies(model, pos, box, 1 - types, spins) - ref).abs().max() > 1e-4
    moved = pos.copy()
    moved[0] += 0.1
    assert (energies(model, moved, box, types, spins) - ref).abs().max() > 1e-4


def test_energy_and_force_are_smooth_at_the_cutoff():
    model = continuous_model(n_species=1, cutoff=2.5)
    box = Box(np.zeros(3), np.eye(3) * 20.0, np.array([False, False, False]))
    spins = random_unit(2, np.random.default_rng(0))
    types = np.zeros(2, dtype=np.int64)

    def energy(r):
        pos = np.array([[5.0, 5.0, 5.0], [5.0 + r, 5.0, 5.0]])
        return float(energies(model, pos, box, types, spins).sum())

    far = energy(3.0)  # no neighbors
    strength = abs(energy(1.5) - far)
    assert strength > 1e-3  # the pair does interact inside the cutoff
    for delta in (1e-2, 1e-3):
        inside = energy(2.5 - delta)
        # fc = (1 - x^2)^3 vanishes to third order: E - E_far ~ delta^3, so energy,
        # force and force derivative are continuous (a cutoff smooth only to first
        # order would leave ~ strength * delta here)
        assert abs(inside - far) < 10 * strength * delta**3
    assert abs(energy(2.5 + 1e-9) - far) == 0.0
