"""Geometry of the fixed 2D lattices used by the lattice-symmetric descriptor.

A lattice is given by its kind (``square`` or ``triangular``), its lattice
constant ``a`` and the angle ``phi`` of the primitive vector a1 with the x axis;
the lattice lies in the xy plane. Sites are addressed by integer coordinates
(n1, n2): r = n1 a1 + n2 a2. ``make_lattice`` builds periodic patches of them
(the sites of synthetic snapshots, model cards and tests).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Tuple

import numpy as np

from .dataset import Box
from .symmetry import DihedralGroup

_KINDS = {"square": (4, np.pi / 2), "triangular": (6, np.pi / 3)}


@dataclass(frozen=True)
class LatticeSpec:
    kind: str
    a: float = 1.0
    phi: float = 0.0

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown lattice '{self.kind}': expected one of {sorted(_KINDS)}")
        if not self.a > 0:
            raise ValueError(f"lattice constant must be positive, got {self.a}")

    @property
    def order(self) -> int:
        """n of the point group D_n."""
        return _KINDS[self.kind][0]

    @property
    def basis(self) -> np.ndarray:
        """2x2 matrix with columns a1, a2."""
        angle = _KINDS[self.kind][1]
        a1 = self.a * np.array([np.cos(self.phi), np.sin(self.phi)])
        a2 = self.a * np.array([np.cos(self.phi + angle), np.sin(self.phi + angle)])
        return np.stack([a1, a2], axis=1)

    def group(self) -> DihedralGroup:
        return DihedralGroup(self.order, self.phi)

    def positions(self, coords: np.ndarray) -> np.ndarray:
        return np.asarray(coords, float) @ self.basis.T

    def shell_distances(self, count: int) -> List[float]:
        """The first ``count`` distinct neighbor distances (in length units)."""
        coords = lattice_points(self, self.a * (count + 2))
        dist = np.unique(np.round(np.linalg.norm(self.positions(coords), axis=1) / self.a, 9))
        return [float(d) * self.a for d in dist[dist > 0][:count]]

    def to_dict(self) -> Dict:
        return asdict(self)


def lattice_points(spec: LatticeSpec, radius: float) -> np.ndarray:
    """Integer coordinates of all sites with |r| <= radius, sorted by distance and
    angle, the origin first."""
    reach = int(np.ceil(2.0 * radius / spec.a)) + 1
    grid = np.array([(i, j) for i in range(-reach, reach + 1) for j in range(-reach, reach + 1)])
    pos = spec.positions(grid)
    dist = np.linalg.norm(pos, axis=1)
    keep = dist <= radius * (1 + 1e-9) + 1e-12
    grid, pos, dist = grid[keep], pos[keep], dist[keep]
    angle = np.mod(np.arctan2(pos[:, 1], pos[:, 0]) - spec.phi + 1e-9, 2 * np.pi)
    order = np.lexsort((np.round(angle, 9), np.round(dist / spec.a, 9)))
    return grid[order]


def site_permutations(spec: LatticeSpec, coords: np.ndarray) -> np.ndarray:
    """perm[g, p] = index of the site that group element g maps site p to."""
    group = spec.group()
    index = {tuple(c): i for i, c in enumerate(coords.tolist())}
    inv_basis = np.linalg.inv(spec.basis)
    perms = np.empty((group.order, len(coords)), dtype=np.int64)
    for gi, g in enumerate(group.elements):
        mapped = (inv_basis @ group.cartesian(g) @ spec.basis) @ coords.T
        rounded = np.rint(mapped).astype(np.int64)
        if not np.allclose(mapped, rounded, atol=1e-8):
            raise RuntimeError(f"group element {g} does not map the {spec.kind} lattice onto itself")
        for p, c in enumerate(rounded.T):
            target = index.get(tuple(c))
            if target is None:
                raise RuntimeError("stencil is not closed under the point group")
            perms[gi, p] = target
    return perms


def identify_lattice(vectors: np.ndarray, tol: float = 1e-3) -> LatticeSpec:
    """Identify a square or triangular lattice from the nearest-neighbor vectors
    of one site (xy components). Raises ValueError if neither fits."""
    vectors = np.asarray(vectors, float)[:, :2]
    dist = np.linalg.norm(vectors, axis=1)
    a = dist.min()
    nearest = vectors[dist < a * (1 + tol)]
    for kind, (n, _) in _KINDS.items():
        if len(nearest) != n:
            continue
        theta = np.arctan2(nearest[:, 1], nearest[:, 0])
        phi = float(np.mod(np.angle(np.exp(1j * n * theta).sum()) / n, 2 * np.pi / n))
        if phi > 2 * np.pi / n - 1e-9:
            phi = 0.0
        spec = LatticeSpec(kind, float(a), phi)
        expected = spec.positions(lattice_points(spec, a * (1 + tol))[1:])
        if _same_vectors(nearest, expected, tol * a):
            return spec
    raise ValueError(
        f"the nearest neighbors ({len(nearest)} at distance {a:.6g}) form neither a square (4) "
        "nor a triangular (6) lattice; pass the lattice explicitly"
    )


def _same_vectors(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    if len(a) != len(b):
        return False
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return bool(np.all(d.min(axis=1) < tol) and np.all(d.min(axis=0) < tol))


def orbits(items: List[Tuple[int, ...]], perms: np.ndarray, signed: bool, dets: np.ndarray):
    """Group ``items`` (sorted site tuples: bonds or triangles) into orbits of the
    point group. Returns a list of (members, rep) with rep[g] the (signed)
    permutation matrix acting on the orbit's variables: value of item k moves to
    item g.k, multiplied by det(g) for chiralities (``signed``)."""
    remaining = set(items)
    result = []
    for item in items:
        if item not in remaining:
            continue
        members = [item]
        seen = {item}
        for g in range(perms.shape[0]):
            image = tuple(sorted(perms[g, list(item)]))
            if image not in seen:
                seen.add(image)
                members.append(image)
        if not seen <= remaining:
            raise RuntimeError("the variable set is not closed under the point group")
        remaining -= seen
        position = {m: i for i, m in enumerate(members)}
        rep = np.zeros((perms.shape[0], len(members), len(members)))
        for g in range(perms.shape[0]):
            sign = dets[g] if signed else 1.0
            for k, m in enumerate(members):
                rep[g, position[tuple(sorted(perms[g, list(m)]))], k] = sign
        result.append((members, rep))
    return result


def make_lattice(kind: str, nx: int, ny: int, a: float = 1.0) -> Tuple[np.ndarray, Box]:
    """Sites of a periodic nx x ny patch in the xy plane (z = 0; the box is
    periodic along z as in LAMMPS' dimension 2, the data are read as 2D).

    square: orthogonal box; triangular: primitive (triclinic) cell with a1 = (a, 0),
    a2 = (a/2, a sqrt(3)/2), so the whole D6 point group maps it onto itself."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    coords = np.stack([i.ravel(), j.ravel()], axis=1).astype(float)
    if kind == "square":
        a1, a2 = np.array([a, 0.0]), np.array([0.0, a])
    elif kind == "triangular":
        a1, a2 = np.array([a, 0.0]), np.array([0.5 * a, 0.5 * np.sqrt(3) * a])
    else:
        raise ValueError(f"unknown lattice '{kind}'")
    xy = coords[:, :1] * a1 + coords[:, 1:] * a2
    positions = np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)
    cell = np.array([[nx * a1[0], nx * a1[1], 0.0], [ny * a2[0], ny * a2[1], 0.0], [0.0, 0.0, a]])
    box = Box(np.array([0.0, 0.0, -0.5 * a]), cell, np.array([True, True, True]))
    return positions, box
