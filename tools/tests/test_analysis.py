"""Order parameters of mlspin_train.analysis on textures with known values."""

import numpy as np
import pytest

from mlspin_train.analysis import (TETRAHEDRAL_CHIRALITY, domain_length, reciprocal_lengths, square_order,
                                   structure_factor, triangle_chirality, triangular_order)
from mlspin_train.dataset import Box, Frame

SQRT3 = np.sqrt(3.0)


def lattice_frame(kind, l1, l2, spin_of):
    """A frame with sites (m, n) on a square or triangular grid (rhombic cell), shuffled."""
    a1 = np.array([1.0, 0.0, 0.0])
    a2 = np.array([0.0, 1.0, 0.0]) if kind == "square" else np.array([0.5, SQRT3 / 2, 0.0])
    sites = [(m, n) for m in range(l1) for n in range(l2)]
    order = np.random.default_rng(3).permutation(len(sites))
    sites = [sites[k] for k in order]
    positions = np.array([0.1 + m * a1 + n * a2 for m, n in sites])
    spins = np.array([spin_of(m, n) for m, n in sites], float)
    spins /= np.linalg.norm(spins, axis=1, keepdims=True)
    box = Box(np.zeros(3), np.array([l1 * a1, l2 * a2, [0.0, 0.0, 1.0]]), np.array([True, True, False]))
    n = len(sites)
    return Frame(0, box, np.arange(1, n + 1), np.ones(n, int), positions, spins, np.ones(n), None)


TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / SQRT3


def test_tetrahedral_state_has_uniform_chirality_on_every_triangle():
    frame = lattice_frame("triangular", 6, 4, lambda m, n: TETRAHEDRON[m % 2 + 2 * (n % 2)])
    up, down = triangle_chirality(frame)
    assert np.allclose(np.abs(up), TETRAHEDRAL_CHIRALITY)
    assert np.allclose(up, up.flat[0]) and np.allclose(down, up.flat[0])
    order = triangular_order(frame)
    assert order["abs_chirality"] == pytest.approx(TETRAHEDRAL_CHIRALITY)


def test_coplanar_and_collinear_states_have_no_chirality():
    ferro = lattice_frame("triangular", 6, 6, lambda m, n: (0, 0, 1))
    angle = lambda m, n: 2 * np.pi * (m - n) / 3          # 120-degree state
    coplanar = lattice_frame("triangular", 6, 6, lambda m, n: (np.cos(angle(m, n)), np.sin(angle(m, n)), 0))
    for frame in (ferro, coplanar):
        up, down = triangle_chirality(frame)
        assert np.allclose(up, 0) and np.allclose(down, 0)


def test_square_structure_factor_weights():
    ferro = square_order(lattice_frame("square", 4, 6, lambda m, n: (1, 0, 0)))
    neel = square_order(lattice_frame("square", 4, 6, lambda m, n: (0, 0, (-1) ** (m + n))))
    assert ferro == pytest.approx({"ferro_weight": 1.0, "neel_weight": 0.0})
    assert neel == pytest.approx({"ferro_weight": 0.0, "neel_weight": 1.0})


def test_reciprocal_lattice_is_dual_to_the_lattice():
    # plane wave exp(i q.r) with the smallest q along b1 has |q| = 2 pi / (L (sqrt 3 / 2))
    q = reciprocal_lengths(8, 8, "triangular")
    assert q[1, 0] == pytest.approx(2 * np.pi / 8 / (SQRT3 / 2))
    assert q[0, 0] == 0.0
    assert reciprocal_lengths(8, 4, "square")[0, 1] == pytest.approx(2 * np.pi / 4)


@pytest.mark.parametrize("kind", ["square", "triangular"])
def test_domain_length_grows_with_the_domains(kind):
    size = 48
    lengths = []
    for width in (4, 8, 16):
        field = np.where((np.arange(size)[:, None] // width) % 2 == 0, 1.0, -1.0) * np.ones((size, size))
        lengths.append(domain_length(structure_factor(field), reciprocal_lengths(size, size, kind)))
    ratios = np.array(lengths[1:]) / np.array(lengths[:-1])
    assert np.all(ratios > 1.6) and np.all(ratios < 2.4), lengths


def test_read_thermo_takes_the_last_complete_block(tmp_path):
    log = tmp_path / "log.lammps"
    log.write_text("LAMMPS\n   Step Temp\n 0 1.0\n 10 2.0\nLoop time of 1 on 1 procs\n"
                   "   Step PotEng Time\n 10 -1.5 0.5\nWARNING: something\n 20 -1.75 1.0\n"
                   "Loop time of 2 on 1 procs\n   Step PotEng\n 30 -2.0\n")
    from mlspin_train.analysis import read_thermo
    thermo = read_thermo(str(log))
    assert list(thermo) == ["Step", "PotEng", "Time"]
    assert thermo["PotEng"].tolist() == [-1.5, -1.75]


def test_sd_field_residual_is_the_largest_deviation_from_j_s_m():
    from mlspin_train.analysis import sd_field_residual
    frame = lattice_frame("square", 2, 2, lambda m, n: (0, 0, 1))
    me = np.random.default_rng(1).normal(size=(4, 3))
    frame.spin_mag = np.array([1.0, 2.0, 1.0, 0.5])
    frame.extra = {"mex": me[:, 0], "mey": me[:, 1], "mez": me[:, 2]}
    frame.fm = 3.0 * frame.spin_mag[:, None] * me
    assert sd_field_residual(frame, 3.0) == pytest.approx(0.0, abs=1e-15)
    frame.fm[2, 1] += 0.25
    assert sd_field_residual(frame, 3.0) == pytest.approx(0.25)
