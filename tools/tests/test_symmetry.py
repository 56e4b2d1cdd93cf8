"""Point groups, irreps, decompositions and invariant tensors."""

import itertools

import numpy as np
import pytest

from mlspin_train.lattice import LatticeSpec, identify_lattice, lattice_points, orbits, site_permutations
from mlspin_train.symmetry import DihedralGroup, decompose, invariant_tensors, projected_basis


def product_index(group, g1, g2):
    m = group.cartesian(group.elements[g1]) @ group.cartesian(group.elements[g2])
    matches = [k for k, g in enumerate(group.elements) if np.allclose(group.cartesian(g), m)]
    assert len(matches) == 1
    return matches[0]


@pytest.mark.parametrize("n,phi", [(4, 0.0), (6, 0.0), (6, 0.3)])
def test_irreps_are_orthogonal_representations_with_orthonormal_characters(n, phi):
    group = DihedralGroup(n, phi)
    assert sum(ir.dim ** 2 for ir in group.irreps) == group.order
    chars = []
    for ir in group.irreps:
        mats = ir.matrices
        for g1, g2 in itertools.product(range(group.order), repeat=2):
            assert np.allclose(mats[g1] @ mats[g2], mats[product_index(group, g1, g2)])
        assert np.allclose(np.einsum("gab,gcb->gac", mats, mats), np.eye(ir.dim))
        chars.append(np.trace(mats, axis1=1, axis2=2))
    chars = np.array(chars)
    assert np.allclose(chars @ chars.T / group.order, np.eye(len(chars)))


def test_general_orbit_of_square_lattice_holds_every_irrep():
    spec = LatticeSpec("square")
    sites = lattice_points(spec, 2.3)
    perms = site_permutations(spec, sites)
    items = [(0, p) for p in range(1, len(sites))]
    dets = np.array([spec.group().det(g) for g in spec.group().elements], float)
    found = {}
    for members, rep in orbits(items, perms, False, dets):
        names = sorted(spec.group().irreps[c.irrep].name for c in decompose(rep, spec.group()))
        found[len(members)] = names
    # the 8 sites (2,1)-type carry the regular representation: A1+A2+B1+B2+2E
    assert found[8] == ["A1", "A2", "B1", "B2", "E", "E"]
    assert sorted(found) == [4, 8]


def test_chirality_orbit_changes_sign_under_reflections():
    spec = LatticeSpec("triangular")
    group = spec.group()
    sites = lattice_points(spec, 1.01)
    perms = site_permutations(spec, sites)
    dets = np.array([group.det(g) for g in group.elements], float)
    # the six elementary triangles around the center
    tris = [tuple(sorted((0, p, q))) for p in range(1, 7) for q in range(p + 1, 7)
            if np.isclose(np.linalg.norm(spec.positions(sites[p] - sites[q])), 1.0)]
    (members, rep), = orbits(tris, perms, True, dets)
    copies = decompose(rep, group)
    names = sorted(group.irreps[c.irrep].name for c in copies)
    # the uniform chirality of the six triangles is a pseudoscalar (A2), not A1
    assert "A1" not in names and "A2" in names
    assert len(members) == 6


@pytest.mark.parametrize("n", [4, 6])
def test_invariant_tensors_are_invariant_and_counted_right(n):
    group = DihedralGroup(n)
    names = [ir.name for ir in group.irreps]
    rng = np.random.default_rng(0)
    for i1, i2, i3 in itertools.product(range(len(names)), repeat=3):
        tensors = invariant_tensors(group, i1, i2, i3)
        chars = [np.trace(group.irreps[i].matrices, axis1=1, axis2=2) for i in (i1, i2, i3)]
        multiplicity = round(float(np.mean(chars[0] * chars[1] * chars[2])))
        assert len(tensors) == multiplicity, (names[i1], names[i2], names[i3])
        for t in tensors:
            f = [rng.normal(size=group.irreps[i].dim) for i in (i1, i2, i3)]
            value = np.einsum("abc,a,b,c->", t, *f)
            for g in range(group.order):
                fg = [group.irreps[i].matrices[g] @ v for i, v in zip((i1, i2, i3), f)]
                assert np.isclose(np.einsum("abc,a,b,c->", t, *fg), value)


@pytest.mark.parametrize("kind,phi", [("square", 0.0), ("square", 0.4), ("triangular", 0.0), ("triangular", 0.7)])
def test_identify_lattice_from_neighbor_vectors(kind, phi):
    spec = LatticeSpec(kind, 2.5, phi)
    vectors = spec.positions(lattice_points(spec, 2.5 * 2.1)[1:])
    found = identify_lattice(np.random.default_rng(1).permutation(vectors))
    assert found.kind == kind
    assert np.isclose(found.a, 2.5)
    assert np.isclose(np.mod(found.phi - phi, 2 * np.pi / spec.order), 0.0, atol=1e-9) or np.isclose(
        np.mod(found.phi - phi, 2 * np.pi / spec.order), 2 * np.pi / spec.order, atol=1e-9)


def test_identify_lattice_rejects_other_lattices():
    honeycomb_star = np.array([[1, 0], [-0.5, np.sqrt(3) / 2], [-0.5, -np.sqrt(3) / 2]])
    with pytest.raises(ValueError, match="neither a square"):
        identify_lattice(honeycomb_star)


def test_projected_basis_depends_on_the_subspace_only():
    """The same projector built from two orthonormal bases of its range (equal up
    to rounding) gives the same basis: the seeds e_k projected in order and
    orthonormalised, each vector positive along its seed and zero on the seeds
    before it that were skipped. An eigensolver would return any rotation."""
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(9, 3)))
    q[:2] = 0.0  # e_0, e_1 project to zero and are skipped
    q, _ = np.linalg.qr(q)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    first = projected_basis(q @ q.T)
    second = projected_basis((q @ rot) @ (q @ rot).T)
    assert len(first) == 3
    assert np.allclose(first, second, rtol=0, atol=1e-12)
    b = np.array(first)
    assert np.allclose(b @ b.T, np.eye(3), atol=1e-12)
    assert np.allclose(q @ (q.T @ b.T), b.T, atol=1e-12)  # in the range
    assert np.allclose(b[:, :2], 0.0, atol=1e-12)
    # vector j: positive on its seed (2 + j), zero on the earlier seeds
    for j in range(3):
        assert b[j, 2 + j] > 0.1
        assert np.allclose(b[j, 2:2 + j], 0.0, atol=1e-12)


@pytest.mark.parametrize("n", [4, 6])
def test_invariant_tensors_are_positive_at_their_first_nonzero_entry(n):
    group = DihedralGroup(n)
    for i1, i2, i3 in itertools.product(range(len(group.irreps)), repeat=3):
        for t in invariant_tensors(group, i1, i2, i3):
            flat = t.reshape(-1)
            first = np.flatnonzero(np.abs(flat) > 1e-9)[0]
            assert flat[first] > 0
            assert np.isclose(np.linalg.norm(flat), 1.0)
