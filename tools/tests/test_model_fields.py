"""What the pair style derives from the model: fm = -(|S|/hbar) dE/dS,
forces from edge gradients, virial; checked by finite differences."""

import numpy as np
import pytest
import torch

from conftest import continuous_model, lattice_model, random_unit
from mlspin_train.dataset import Box, planar_box
from mlspin_train.graph import Batch, build_graph
from mlspin_train.physics import hbar_for, predict
from mlspin_train.lattice import make_lattice
from test_continuous_descriptor import system


def make_batch(pos, box, types, spins, cutoff):
    g = build_graph(pos, box, cutoff)
    n = len(pos)
    return Batch(torch.tensor(spins), torch.tensor(types), torch.tensor(g.edge_index), torch.tensor(g.edge_vec),
                 torch.zeros(n, dtype=torch.int64), 1)


def total_energy(model, pos, box, types, spins):
    with torch.no_grad():
        return float(predict_energy(model, make_batch(pos, box, types, spins, model.cutoff)))


def predict_energy(model, batch):
    return model(batch.spin, batch.types, batch.edge_index, batch.edge_vec, batch.n_atoms).sum()


@pytest.mark.parametrize("kind", ["square", "triangular", "continuous"])
def test_fm_is_minus_spin_gradient_by_finite_differences(kind):
    rng = np.random.default_rng(0)
    if kind == "continuous":
        model = continuous_model(n_species=2)
        pos, box, types, spins = system(seed=0)
    else:
        model = lattice_model(kind, radius=2.0)
        pos, box = make_lattice(kind, 5, 5)
        box = planar_box(box, 2)
        types = np.zeros(len(pos), dtype=np.int64)
        spins = random_unit(len(pos), rng) * rng.uniform(0.7, 1.3, size=(len(pos), 1))
    units = "metal"
    hbar = hbar_for(units)
    out = predict(model, make_batch(pos, box, types, spins, model.cutoff), hbar)
    eps = 1e-6
    for i, a in [(0, 0), (3, 1), (7, 2), (len(pos) - 1, 1)]:
        up, down = spins.copy(), spins.copy()
        up[i, a] += eps
        down[i, a] -= eps
        grad = (total_energy(model, pos, box, types, up) - total_energy(model, pos, box, types, down)) / (2 * eps)
        expected = -np.linalg.norm(spins[i]) / hbar * grad
        assert abs(float(out.fm[i, a]) - expected) < 1e-6 * max(1.0, abs(expected)), (i, a)
    assert hbar == pytest.approx(4.135667403e-3 / (2 * np.pi))


def test_forces_are_minus_position_gradient_and_virial_is_strain_derivative():
    model = continuous_model(n_species=2)
    pos, box, types, spins = system(seed=3)
    out = predict(model, make_batch(pos, box, types, spins, model.cutoff), 1.0, forces=True)
    assert float(out.forces.abs().max()) > 1e-3
    eps = 1e-6
    for i in (0, 5, 13):
        for a in range(3):
            up, down = pos.copy(), pos.copy()
            up[i, a] += eps
            down[i, a] -= eps
            fd = -(total_energy(model, up, box, types, spins) - total_energy(model, down, box, types, spins)) / (2 * eps)
            assert abs(float(out.forces[i, a]) - fd) < 1e-6 * max(1.0, abs(fd))
    # momentum conservation: forces from edge gradients sum to zero
    assert float(out.forces.sum(0).abs().max()) < 1e-12
    # W_ab = -dE/d(eps_ab) under a homogeneous deformation r -> (1 + eps) r
    for a, b in [(0, 0), (1, 2), (2, 1)]:
        def strained(e):
            m = np.eye(3)
            m[a, b] += e
            return total_energy(model, pos @ m.T, Box(box.origin, box.cell @ m.T, box.periodic), types, spins)

        fd = -(strained(eps) - strained(-eps)) / (2 * eps)
        assert abs(float(out.virial[0, a, b]) - fd) < 1e-6 * max(1.0, abs(fd)), (a, b)


def test_lattice_model_has_zero_but_defined_position_gradient():
    model = lattice_model("square", radius=2.0)
    pos, box = make_lattice("square", 5, 5)
    batch = make_batch(pos, planar_box(box, 2), np.zeros(25, dtype=np.int64), random_unit(25, np.random.default_rng(1)), model.cutoff)
    vec = batch.edge_vec.clone().requires_grad_(True)
    energy = model(batch.spin, batch.types, batch.edge_index, vec, 25).sum()
    (grad,) = torch.autograd.grad(energy, [vec])  # no "unused tensor" error
    assert grad is not None and float(grad.abs().max()) == 0.0


@pytest.mark.parametrize("kind", ["square", "triangular", "continuous"])
def test_one_species_fast_path_equals_the_general_path(kind):
    """Models of one species evaluate the network on features x atoms, with the
    descriptor's own order of the features; the same numbers as the general path
    (rows of atoms, features in the order of the tables)."""
    rng = np.random.default_rng(3)
    if kind == "continuous":
        model = continuous_model(n_species=1)
        pos, box, _, spins = system(seed=2, n_species=1)
    else:
        model = lattice_model(kind, radius=3.0)
        pos, box = make_lattice(kind, 8, 8)
        box = planar_box(box, 2)
        spins = random_unit(len(pos), rng) * rng.uniform(0.8, 1.2, size=(len(pos), 1))
    with torch.no_grad():
        model.feature_mean.uniform_(-0.5, 0.5)
        model.feature_scale.uniform_(0.5, 2.0)
        model.magnitude_coef.fill_(0.3)
    batch = make_batch(pos, box, np.zeros(len(pos), dtype=np.int64), spins, model.cutoff)
    results = []
    for path in (model._energy_columns, model._energy_rows):
        spin = batch.spin.clone().requires_grad_(True)
        energy = path(spin, batch.types, batch.edge_index, batch.edge_vec, batch.n_atoms)
        (grad,) = torch.autograd.grad(energy.sum(), [spin])
        results.append((energy.detach(), grad))
    (e_cols, g_cols), (e_rows, g_rows) = results
    assert torch.allclose(e_cols, e_rows, rtol=0, atol=1e-13 * float(e_rows.abs().max()))
    assert torch.allclose(g_cols, g_rows, rtol=0, atol=1e-13 * float(g_rows.abs().max()))
