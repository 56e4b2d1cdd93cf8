"""Edges from periodic snapshots."""

import numpy as np
import pytest

from mlspin_train.dataset import Box, planar_box
from mlspin_train.graph import build_graph, with_ghosts
from mlspin_train.lattice import make_lattice


@pytest.mark.parametrize("kind,cutoff,count", [("square", 2.1, 12), ("triangular", 1.1, 6), ("triangular", 2.1, 18)])
def test_neighbor_counts_in_small_periodic_cells(kind, cutoff, count):
    """A 3x3 cell is smaller than the neighborhood: atoms appear as several images."""
    pos, box = make_lattice(kind, 3, 3)
    g = build_graph(pos, planar_box(box, 2), cutoff, budget=50)  # tiny budget: many chunks
    assert np.all(np.bincount(g.edge_index[0]) == count)
    assert np.all(np.diff(g.edge_index[0]) >= 0)  # grouped by center
    np.testing.assert_allclose(g.edge_vec, pos[g.edge_index[1]] - pos[g.edge_index[0]] + g.shift @ box.cell, atol=1e-12)
    assert np.all(np.linalg.norm(g.edge_vec, axis=1) < cutoff)
    ei, ev, owner = with_ghosts(g)
    # each (atom, image) pair becomes one ghost; no edge points to an owned atom through an image
    assert len(owner) == len(pos) + len({(int(j), tuple(s)) for j, s in zip(g.edge_index[1], g.shift) if any(s)})


def test_wrapping_and_non_periodic_directions():
    box = Box.orthogonal([0, 0, 0], [4.0, 4.0, 4.0], periodic=(True, True, False))
    pos = np.array([[0.2, 0.2, 0.2], [3.9, 0.2, 0.2], [0.2, 0.2, 3.9], [5.2, 0.2, 0.2]])  # the last one is outside
    g = build_graph(pos, box, 1.5)
    pairs = {(int(i), int(j)): v for (i, j), v in zip(g.edge_index.T, g.edge_vec)}
    np.testing.assert_allclose(pairs[(0, 1)], [-0.3, 0, 0], atol=1e-12)  # through the periodic x boundary
    assert (0, 2) not in pairs  # z is not periodic: 3.7 apart
    np.testing.assert_allclose(pairs[(0, 3)], [1.0, 0, 0], atol=1e-12)  # 5.2 wraps to 1.2
