"""Point groups of 2D lattices and their real irreducible representations.

Only what the lattice-symmetric descriptor needs, computed once when a model is
built (numpy, not part of the exported module):

* the dihedral group D_n (n = 4: square lattice, n = 6: triangular lattice) as
  pairs (k, s) = rotation by 2 pi k / n after s reflections across the a1 axis;
* its real orthogonal irreducible representations (A1, A2, B1, B2, E_m);
* the decomposition of a (signed) permutation representation into irreducible
  components (projection operators);
* invariant tensors of triple products of irreps (the Clebsch-Gordan
  coefficients needed for bispectrum invariants), found numerically as the
  fixed space of the group average.

Where a space has several orthonormal bases (an irrep occurring more than once
in an orbit, or a sign), the basis is canonical: fixed unit vectors projected and
orthonormalised in order (``projected_basis``), not the eigenvectors of the
projector. An eigensolver returns an arbitrary rotation of a degenerate
eigenspace, which depends on the BLAS kernel and thread count; the descriptor
tables must be the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

_TOL = 1e-9


@dataclass(frozen=True)
class Irrep:
    name: str
    dim: int
    matrices: np.ndarray  # [|G|, dim, dim], real orthogonal


class DihedralGroup:
    """D_n acting on the plane; element g = (k, s) means R(2 pi k / n) M^s with M
    the reflection across the axis at angle ``phi`` (the lattice vector a1)."""

    def __init__(self, n: int, phi: float = 0.0):
        if n not in (4, 6):
            raise ValueError(f"lattice point group D{n} is not supported; use D4 (square) or D6 (triangular)")
        self.n = n
        self.phi = phi
        self.elements: List[Tuple[int, int]] = [(k, s) for s in (0, 1) for k in range(n)]
        self.irreps = self._irreps()

    @property
    def order(self) -> int:
        return 2 * self.n

    @property
    def name(self) -> str:
        return f"D{self.n}"

    def cartesian(self, g: Tuple[int, int]) -> np.ndarray:
        """2x2 matrix of g acting on xy vectors."""
        k, s = g
        rot = _rotation(2.0 * np.pi * k / self.n)
        if s == 0:
            return rot
        frame = _rotation(self.phi)
        mirror = frame @ np.diag([1.0, -1.0]) @ frame.T
        return rot @ mirror

    def det(self, g: Tuple[int, int]) -> int:
        return -1 if g[1] else 1

    def _irreps(self) -> List[Irrep]:
        n = self.n
        one = np.ones((self.order, 1, 1))
        det = np.array([self.det(g) for g in self.elements], float).reshape(-1, 1, 1)
        alt = np.array([(-1.0) ** g[0] for g in self.elements]).reshape(-1, 1, 1)
        irreps = [
            Irrep("A1", 1, one),
            Irrep("A2", 1, det),
            Irrep("B1", 1, alt),
            Irrep("B2", 1, alt * det),
        ]
        n_two_dim = (n - 1) // 2
        for m in range(1, n_two_dim + 1):
            mats = np.stack([_rotation(2.0 * np.pi * m * k / n) @ np.diag([1.0, (-1.0) ** s]) for k, s in self.elements])
            name = "E" if n_two_dim == 1 else f"E{m}"
            irreps.append(Irrep(name, 2, mats))
        return irreps


def _rotation(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


@dataclass(frozen=True)
class IrrepCopy:
    """One copy of irrep ``irrep`` inside a representation: ``basis[:, a]`` is the
    vector whose dot product with the variables gives component a."""

    irrep: int
    basis: np.ndarray  # [m, dim]


def decompose(rep: np.ndarray, group: DihedralGroup) -> List[IrrepCopy]:
    """Split the orthogonal representation ``rep`` ([|G|, m, m]) into irreducible
    copies. The returned bases together form an orthogonal m x m matrix and
    satisfy rep[g] @ basis = basis @ irrep[g] for every g.

    With the projectors P_ab = (d / |G|) sum_g D_ab(g) rep(g), the first
    components of the copies of an irrep span the range of P_00; each vector v
    of a basis of that range gives one copy with components P_a0 v (Serre,
    Linear Representations of Finite Groups, sec. 2.7). The basis is
    ``projected_basis`` of P_00: copies in the order of the variables they
    first involve, each with a positive weight on that variable."""
    order, m, _ = rep.shape
    copies: List[IrrepCopy] = []
    for index, irrep in enumerate(group.irreps):
        proj = [
            (irrep.dim / order) * np.einsum("g,gij->ij", irrep.matrices[:, a, 0], rep) for a in range(irrep.dim)
        ]
        for v in projected_basis(proj[0]):
            basis = np.stack([p @ v for p in proj], axis=1)
            copies.append(IrrepCopy(index, basis))
    _verify_decomposition(rep, group, copies)
    return copies


def projected_basis(projector: np.ndarray, tol: float = 1e-6) -> List[np.ndarray]:
    """Canonical orthonormal basis of the range of an orthogonal projector P.

    The seeds e_0, e_1, ... are projected in this order and orthonormalised by
    modified Gram-Schmidt (two passes); a seed whose remainder is shorter than
    ``tol`` lies in the span of the earlier ones and is skipped. Each vector has
    a positive component along its seed (for a symmetric P the remainder r
    satisfies r . e_k = r . P e_k = |r|^2). The result is a continuous function
    of P's entries away from the rank decisions, which for the projectors of a
    finite group have remainders of order 1 or of rounding size, so rounding
    differences between BLAS kernels change it by rounding only."""
    p = 0.5 * (projector + projector.T)
    rank = int(round(float(np.trace(p))))
    basis: List[np.ndarray] = []
    for k in range(p.shape[0]):
        if len(basis) == rank:
            break
        r = p[:, k].copy()
        for _ in range(2):
            for q in basis:
                r -= (q @ r) * q
        norm = float(np.linalg.norm(r))
        if norm > tol:
            r /= norm
            basis.append(r if r[k] > 0 else -r)
    if len(basis) != rank:
        raise RuntimeError(f"projector of trace {rank} gave {len(basis)} independent vectors")
    return basis


def _verify_decomposition(rep: np.ndarray, group: DihedralGroup, copies: Sequence[IrrepCopy]) -> None:
    m = rep.shape[1]
    full = np.concatenate([c.basis for c in copies], axis=1) if copies else np.zeros((m, 0))
    if full.shape[1] != m or not np.allclose(full.T @ full, np.eye(m), atol=1e-8):
        raise RuntimeError(f"irrep decomposition of a {m}-dimensional representation is not complete")
    for c in copies:
        mats = group.irreps[c.irrep].matrices
        if not np.allclose(rep @ c.basis, c.basis @ mats, atol=1e-8):
            raise RuntimeError("irrep basis does not transform covariantly")


def invariant_tensors(group: DihedralGroup, i1: int, i2: int, i3: int) -> List[np.ndarray]:
    """Orthonormal basis of tensors T[a,b,c] with sum T f1_a f2_b f3_c invariant
    when f1, f2, f3 transform by irreps i1, i2, i3: the fixed space of the
    group average of their product representation, in the canonical basis of
    ``projected_basis`` (for the dihedral groups it is at most one-dimensional,
    so only the sign is a choice: T[a,b,c] > 0 at the first nonzero entry in
    C order)."""
    r1, r2, r3 = (group.irreps[i].matrices for i in (i1, i2, i3))
    kron = np.einsum("gad,gbe,gcf->gabcdef", r1, r2, r3)
    d = (r1.shape[1], r2.shape[1], r3.shape[1])
    size = d[0] * d[1] * d[2]
    average = kron.reshape(group.order, size, size).mean(axis=0)
    return [v.reshape(d) for v in projected_basis(average)]
