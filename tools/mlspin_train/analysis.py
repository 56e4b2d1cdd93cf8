"""Order parameters of spin textures on square and triangular lattices.

Used by the examples and by the ML-versus-ED validation script: the scalar chirality
of the triangles of a triangular lattice, its structure factor and the characteristic
length of chiral domains; the ferromagnetic and Neel structure-factor weights of a
square lattice. Sites are placed on an L1 x L2 grid from their fractional coordinates
in the (periodic) simulation cell, so the cell must hold a whole number of lattice
cells along its first two vectors.
"""

from typing import Dict, Tuple

import numpy as np

from .dataset import Frame

# 4 / (3 sqrt 3): chirality of every triangle in the tetrahedral (triple-Q) state
TETRAHEDRAL_CHIRALITY = 4.0 / (3.0 * np.sqrt(3.0))


def site_grid(frame: Frame) -> Tuple[np.ndarray, int, int]:
    """Index array grid[m, n] -> atom row, for a frame whose sites form an L1 x L2 grid
    along the first two cell vectors."""
    frac = frame.box.fractional(frame.positions)[:, :2]
    frac = (frac - frac.min(axis=0)) % 1.0
    for size in _candidate_sizes(frame.n_atoms):
        l1, l2 = size
        m = np.rint(frac[:, 0] * l1).astype(int) % l1
        n = np.rint(frac[:, 1] * l2).astype(int) % l2
        ok = np.allclose(frac[:, 0] * l1, np.rint(frac[:, 0] * l1), atol=1e-3) and np.allclose(
            frac[:, 1] * l2, np.rint(frac[:, 1] * l2), atol=1e-3)
        if ok and len(set(zip(m, n))) == frame.n_atoms:
            grid = np.empty((l1, l2), dtype=int)
            grid[m, n] = np.arange(frame.n_atoms)
            return grid, l1, l2
    raise ValueError(f"step {frame.step}: the {frame.n_atoms} sites do not form a grid along the cell vectors")


def _candidate_sizes(n: int):
    """(L1, L2) with L1 * L2 = n, squarest first."""
    pairs = [(a, n // a) for a in range(1, n + 1) if n % a == 0]
    return sorted(pairs, key=lambda p: abs(p[0] - p[1]))


def triangle_chirality(frame: Frame) -> Tuple[np.ndarray, np.ndarray]:
    """Scalar chirality s_i . (s_j x s_k) of the up and down triangles, each [L1, L2].

    Sites (m, n) sit at m a1 + n a2 with a1 = (1, 0), a2 = (1/2, sqrt 3/2); the up triangle
    of (m, n) is (m, n), (m+1, n), (m, n+1), the down triangle (m+1, n), (m+1, n+1),
    (m, n+1), both counterclockwise."""
    grid, _, _ = site_grid(frame)
    return grid_chirality(frame.spin_dir[grid])


def grid_chirality(s: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """triangle_chirality of unit spins already on the site grid, s[m, n] [L1, L2, 3]."""
    right = np.roll(s, -1, axis=0)             # (m+1, n)
    up = np.roll(s, -1, axis=1)                # (m, n+1)
    diagonal = np.roll(right, -1, axis=1)      # (m+1, n+1)
    chi_up = np.einsum("mnk,mnk->mn", s, np.cross(right, up))
    chi_down = np.einsum("mnk,mnk->mn", right, np.cross(diagonal, up))
    return chi_up, chi_down


def structure_factor(field: np.ndarray) -> np.ndarray:
    """S(q) = |sum_r f(r) e^{-i q.r}|^2 / N on the grid's reciprocal lattice (FFT order)."""
    return np.abs(np.fft.fft2(field)) ** 2 / field.size


def reciprocal_lengths(l1: int, l2: int, lattice: str) -> np.ndarray:
    """|q| for every FFT point of an L1 x L2 grid of a square or triangular lattice
    (lattice constant 1), with q = f1 b1 + f2 b2 and f1, f2 in [-1/2, 1/2)."""
    f1 = np.fft.fftfreq(l1)[:, None]
    f2 = np.fft.fftfreq(l2)[None, :]
    if lattice == "square":
        b1, b2 = np.array([2 * np.pi, 0.0]), np.array([0.0, 2 * np.pi])
    elif lattice == "triangular":
        b1 = 2 * np.pi * np.array([1.0, -1.0 / np.sqrt(3.0)])
        b2 = 2 * np.pi * np.array([0.0, 2.0 / np.sqrt(3.0)])
    else:
        raise ValueError(f"unknown lattice {lattice!r}")
    q = f1[..., None] * b1 + f2[..., None] * b2
    return np.linalg.norm(q, axis=-1)


def radial_profile(values: np.ndarray, q: np.ndarray, bins: int = 40, q_max: float = None):
    """Average of values over shells of |q| (q = 0 excluded): (bin centres, means)."""
    q_max = q_max or q.max()
    edges = np.linspace(0.0, q_max, bins + 1)
    mask = q > 1e-12
    index = np.digitize(q[mask], edges) - 1
    sums = np.bincount(index, weights=values[mask], minlength=bins + 1)[:bins]
    counts = np.bincount(index, minlength=bins + 1)[:bins]
    centres = 0.5 * (edges[1:] + edges[:-1])
    keep = counts > 0
    return centres[keep], sums[keep] / counts[keep]


def domain_length(s_q: np.ndarray, q: np.ndarray) -> float:
    """Characteristic length 2 pi / <|q|> with <|q|> the first moment of S(q), q != 0;
    infinite for a uniform field (a single domain)."""
    mask = q > 1e-12
    weight = s_q[mask].sum()
    if weight <= 1e-12 * s_q.sum():
        return float("inf")
    return float(2 * np.pi * weight / (q[mask] * s_q[mask]).sum())


def triangular_order(frame: Frame) -> Dict[str, float]:
    """Mean chirality, mean |chirality| of all triangles, and the chiral domain length."""
    chi_up, chi_down = triangle_chirality(frame)
    chi = np.concatenate([chi_up.ravel(), chi_down.ravel()])
    # a triangle pair per site: the up-down average is the chirality field on the grid
    field = 0.5 * (chi_up + chi_down)
    q = reciprocal_lengths(*field.shape, "triangular")
    return {
        "chirality": float(chi.mean()),
        "abs_chirality": float(np.abs(chi).mean()),
        "domain_length": domain_length(structure_factor(field), q),
    }


def square_order(frame: Frame) -> Dict[str, float]:
    """Ferromagnetic and Neel structure-factor weights |sum_i s_i e^{-iQ.r_i}|^2 / N^2."""
    grid, _, _ = site_grid(frame)
    s = frame.spin_dir[grid]
    m, n = np.meshgrid(np.arange(grid.shape[0]), np.arange(grid.shape[1]), indexing="ij")
    sign = np.where((m + n) % 2 == 0, 1.0, -1.0)[..., None]
    total = s.shape[0] * s.shape[1]
    return {
        "ferro_weight": float(np.sum(s.sum(axis=(0, 1)) ** 2) / total**2),
        "neel_weight": float(np.sum((sign * s).sum(axis=(0, 1)) ** 2) / total**2),
    }


def read_thermo(path: str) -> Dict[str, np.ndarray]:
    """Columns of the last complete thermo block of a LAMMPS log file."""
    header, rows, blocks = None, [], []
    with open(path) as fh:
        for line in fh:
            words = line.split()
            if words[:1] == ["Step"]:
                header, rows = words, []
            elif header and line.startswith("Loop time"):
                blocks.append((header, rows))
                header = None
            elif header:
                try:
                    rows.append([float(w) for w in words])
                except ValueError:
                    pass    # a warning or other message inside the block
    if not blocks:
        raise ValueError(f"{path}: no complete thermo block (did the run finish?)")
    header, rows = blocks[-1]
    data = np.array(rows)
    return {name: data[:, k] for k, name in enumerate(header)}


def sd_field_residual(frame: Frame, coupling: float) -> float:
    """Largest |fm - J |S| m_e| of a pair_style sd/tb snapshot: its field is J |S| times
    the local electron spin (columns mex mey mez), a consistency check of the data."""
    me = np.stack([frame.extra["mex"], frame.extra["mey"], frame.extra["mez"]], 1)
    return float(np.abs(frame.fm - coupling * frame.spin_mag[:, None] * me).max())
