"""Lattice-symmetric descriptor: invariances, sensitivity and robustness."""

import numpy as np
import pytest
import torch

from conftest import lattice_model, random_rotation, random_unit
from mlspin_train.dataset import planar_box
from mlspin_train.graph import build_graph, with_ghosts
from mlspin_train.lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig
from mlspin_train.lattice import make_lattice

LATTICES = ["square", "triangular"]


def make_case(kind, size=7, radius=2.0, seed=0, **kw):
    model = lattice_model(kind, radius=radius, **kw)
    pos, box = make_lattice(kind, size, size)
    g = build_graph(pos, planar_box(box, 2), model.cutoff)
    spins = torch.tensor(random_unit(len(pos), np.random.default_rng(seed)))
    return model.descriptor, pos, g, spins


def features(desc, spins, g, edge_vec=None, edge_index=None, n_local=None):
    ei = torch.tensor(g.edge_index) if edge_index is None else edge_index
    ev = torch.tensor(g.edge_vec) if edge_vec is None else edge_vec
    n = spins.shape[0] if n_local is None else n_local
    return desc(spins, torch.zeros(spins.shape[0], dtype=torch.int64), ei, ev, n)


@pytest.mark.parametrize("kind", LATTICES)
def test_invariant_under_global_spin_rotations_and_time_reversal(kind):
    desc, _, g, spins = make_case(kind)
    ref = features(desc, spins, g)
    rng = np.random.default_rng(4)
    for proper in (True, False):  # improper = rotation combined with S -> -S
        rot = torch.tensor(random_rotation(rng, proper))
        assert torch.allclose(features(desc, spins @ rot.T, g), ref, atol=1e-12)


@pytest.mark.parametrize("kind", LATTICES)
def test_without_time_reversal_odd_chirality_features_appear(kind):
    desc, _, g, spins = make_case(kind, time_reversal=False)
    ref = features(desc, spins, g)
    rot = torch.tensor(random_rotation(np.random.default_rng(4), proper=True))
    assert torch.allclose(features(desc, spins @ rot.T, g), ref, atol=1e-12)
    flipped = features(desc, -spins, g)
    assert (flipped - ref).abs().max() > 1e-3  # linear chirality invariants change sign


OPTIONS = [
    {},
    {"bispectrum": False, "time_reversal": False},
    {"ref_decay": 0.0, "bond_shells": 2, "chiral_radius": 3.0},
    {"cross_radius": 2.0, "time_reversal": False},
]


@pytest.mark.parametrize("kind", LATTICES)
@pytest.mark.parametrize("options", OPTIONS)
def test_invariant_under_every_point_group_operation_of_the_neighborhood(kind, options):
    desc, _, g, spins = make_case(kind, radius=3.0, **options)
    ref = features(desc, spins, g)
    group = desc.config.spec.group()
    ev = torch.tensor(g.edge_vec)
    for element in group.elements:
        rot = torch.eye(3, dtype=torch.float64)
        rot[:2, :2] = torch.tensor(group.cartesian(element))
        assert torch.allclose(features(desc, spins, g, edge_vec=ev @ rot.T), ref, atol=1e-12), element


def lattice_map(kind, size, element, group):
    """index of g(n) for every site n of the periodic size x size lattice."""
    pos, box = make_lattice(kind, size, size)
    basis = box.cell[:2, :2].T / size
    coords = np.rint(np.linalg.solve(basis, pos[:, :2].T).T).astype(int)
    moved = np.rint(np.linalg.solve(basis, group.cartesian(element) @ basis @ coords.T).T).astype(int) % size
    index = {tuple(c): i for i, c in enumerate(coords % size)}
    return np.array([index[tuple(c)] for c in moved])


@pytest.mark.parametrize("kind", LATTICES)
def test_point_group_maps_site_features_on_a_periodic_lattice(kind):
    """Transform the whole periodic spin texture: S'(g n) = S(n). The features of
    site g(n) in the new texture equal those of n in the old one."""
    size = 7
    desc, _, g, spins = make_case(kind, size=size, radius=2.5)
    ref = features(desc, spins, g)
    group = desc.config.spec.group()
    changed = 0
    for element in group.elements:
        target = torch.tensor(lattice_map(kind, size, element, group))
        moved = torch.zeros_like(spins)
        moved[target] = spins
        out = features(desc, moved, g)
        assert torch.allclose(out[target], ref, atol=1e-12), element
        changed += bool((out - ref).abs().max() > 1e-6)
    assert changed == group.order - 1  # the texture itself is not symmetric


@pytest.mark.parametrize("kind", LATTICES)
def test_neighbor_order_images_and_ghosts_do_not_matter(kind):
    desc, pos, g, spins = make_case(kind)
    ref = features(desc, spins, g)
    perm = torch.randperm(g.edge_index.shape[1], generator=torch.Generator().manual_seed(1))
    out = features(desc, spins, g, edge_vec=torch.tensor(g.edge_vec)[perm], edge_index=torch.tensor(g.edge_index)[:, perm])
    assert torch.allclose(out, ref, atol=1e-13)
    # explicit ghost atoms for every periodic image, as LAMMPS passes them
    ei, ev, owner = with_ghosts(g)
    assert len(owner) > len(pos)
    ghost_spins = spins[torch.tensor(owner)]
    out = desc(ghost_spins, torch.zeros(len(owner), dtype=torch.int64), torch.tensor(ei), torch.tensor(ev), len(pos))
    assert torch.allclose(out, ref, atol=1e-13)


@pytest.mark.parametrize("kind", LATTICES)
def test_every_stencil_site_influences_the_features(kind):
    desc, _, g, spins = make_case(kind, radius=2.0)
    spins = spins.clone().requires_grad_(True)
    out = features(desc, spins, g)
    (grad,) = torch.autograd.grad(out[0].pow(2).sum(), spins)
    near = np.linalg.norm(g.edge_vec[g.edge_index[0] == 0], axis=1) < desc.cutoff
    neighbors = g.edge_index[1][g.edge_index[0] == 0][near]
    assert len(neighbors) == desc.summary["stencil_sites"]
    assert torch.all(grad[torch.tensor(neighbors)].norm(dim=1) > 1e-8)
    assert grad[0].norm() > 1e-8


def test_wrong_lattice_and_coinciding_neighbors_are_clear_errors():
    desc, _, g, spins = make_case("triangular")
    square_vec = torch.tensor(build_graph(*_square(), 2.2).edge_vec)
    square_index = torch.tensor(build_graph(*_square(), 2.2).edge_index)
    with pytest.raises(RuntimeError, match="is not a vector of the model's triangular lattice"):
        desc(torch.ones(49, 3), torch.zeros(49, dtype=torch.int64), square_index, square_vec, 49)
    ei = torch.tensor(g.edge_index)
    doubled = torch.cat([ei, ei[:, :1]], dim=1)
    ev = torch.tensor(g.edge_vec)
    with pytest.raises(RuntimeError, match="two neighbors of one center sit on the same lattice site"):
        features(desc, spins, g, edge_index=doubled, edge_vec=torch.cat([ev, ev[:1]]))


def _square():
    pos, box = make_lattice("square", 7, 7)
    return pos, planar_box(box, 2)


@pytest.mark.parametrize("kind", LATTICES)
def test_feature_count_is_linear_in_the_stencil(kind):
    counts = []
    for radius in (3.0, 4.0, 5.0):
        d = LatticeDescriptor(LatticeDescriptorConfig(lattice=kind, radius=radius, chiral_radius=radius))
        variables = sum(d.summary["variables"].values())
        counts.append((variables, d.n_features))
        assert d.n_features < 2.5 * variables
    # growth of features follows growth of variables (no quadratic pair terms)
    (v0, f0), (v2, f2) = counts[0], counts[-1]
    assert (f2 - f0) < 2.5 * (v2 - v0)


def test_loading_a_state_dict_rebuilds_the_evaluation_tables():
    """Checkpoints hold the irrep bases (orb_u); those built by another process may
    differ (eigenvectors in degenerate subspaces), and the evaluation tables derived
    from them must follow what was loaded."""
    from mlspin_train.lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig
    a = LatticeDescriptor(LatticeDescriptorConfig(lattice="triangular", radius=2.0))
    state = a.state_dict()
    state["orb_u"] = -state["orb_u"]  # another valid choice of signs of the bases
    b = LatticeDescriptor(LatticeDescriptorConfig(lattice="triangular", radius=2.0))
    b.load_state_dict(state)
    expected = torch.cat([state["orb_u"].transpose(1, 2), torch.zeros(1, *state["orb_u"].shape[1:], dtype=torch.float64)])
    assert torch.equal(b.orb_ut, expected)


@pytest.mark.parametrize("kind", LATTICES)
def test_cross_power_features_are_dot_products_of_paired_irrep_copies(kind):
    """The last features with cross_radius are f_r . f_s of the tabulated pairs of
    copies, computed here from the components directly (not through the rows of
    the fast path)."""
    desc, _, g, spins = make_case(kind, radius=3.0, cross_radius=2.0)
    base, _, _, _ = make_case(kind, radius=3.0)
    n_cross = len(desc.cx_a)
    assert n_cross > 0 and desc.n_features == base.n_features + n_cross
    x = features(desc, spins, g)
    assert torch.allclose(x[:, : base.n_features], features(base, spins, g), atol=1e-12)
    stencil = desc.stencil_spins(spins, torch.tensor(g.edge_index), torch.tensor(g.edge_vec), spins.shape[0])
    comps = desc.components(desc.variables(stencil))
    f = comps.index_select(0, desc.copy_comp.reshape(-1)).view(-1, 2, spins.shape[0])
    expected = (f[desc.cx_a] * f[desc.cx_b]).sum(1).t()
    assert torch.allclose(x[:, base.n_features :], expected, atol=1e-12)
    # every pair joins two copies of one irrep and spin parity, within the radius
    assert torch.equal(desc.ph_ref[_pw_position(desc, desc.cx_a)], desc.ph_ref[_pw_position(desc, desc.cx_b)])


def _pw_position(desc, copies):
    where = {int(c): i for i, c in enumerate(desc.pw_copy.tolist())}
    return torch.tensor([where[int(c)] for c in copies])
