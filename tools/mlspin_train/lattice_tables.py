"""Lattice-symmetric descriptor: spin-rotation invariants arranged by the point
group of a fixed 2D lattice (D4 square, D6 triangular).

The method follows the group-theoretical descriptor of the machine-learning
models for itinerant magnets (J. Ma, P. Zhang, Y. Tan, A. W. Ghosh, G.-W. Chern,
Phys. Rev. B 99, 085118 (2019); P. Zhang, G.-W. Chern, Phys. Rev. Lett. 127,
146401 (2021)); the particular choice of variables, references and invariants
below is this package's own.

For a center site i, all lattice sites within ``radius`` form a fixed stencil.
Spin-rotation invariant variables on the stencil:

* center bonds      S_i . S_j for every stencil site j, and S_i . S_i
                    (whose gradient is the field component along S_i),
* neighbor bonds    S_j . S_k for stencil pairs at the first ``bond_shells``
                    neighbor distances (both within ``bond_radius``),
* chiralities       S_a . (S_b x S_c) on small triangles (sides up to the
                    ``tri_shells``-th neighbor distance, vertices within
                    ``chiral_radius``), vertices in counter-clockwise order.

The point group permutes the variables in orbits (chiralities change sign
under reflections). Each orbit is projected onto irreducible representations,
giving irrep copies f_r. A reference irrep F^{G,p} per irrep type G and
spin-parity p is a weighted sum of all copies of that type (weight
exp(-distance / ref_decay), so the nearest orbits set the frame). Invariants:

* linear:       f_r for copies of the trivial irrep A1 (bonds),
* power:        |f_r|^2 for all other copies,
* phase:        f_r . F^{G_r,p_r} (orientation of the copy relative to its reference),
* bispectrum:   T(f_r, F^{G_r,p_r}, F^X) for every reference X with a nonzero
                invariant tensor T (the sense of rotation of f_r relative to its
                reference, for 2D irreps),
* reference bispectrum: T(F^X, F^Y, F^Z) for all reference triples,
* cross power:  f_r . f_s for pairs of copies of one reference whose orbits lie
                within ``cross_radius`` (optional). The power and phase
                invariants span only 2n of the n(n+1)/2 quadratic forms of n
                copies; near an ordered state, where the non-trivial copies are
                small, the energy is such a quadratic form (the spin-wave
                energy), so the short-range copies get all of them.

All are polynomials in the spins, so energies and fields are smooth. The count
is linear in the number of variables. With ``time_reversal`` (default), only
invariants even in the chiralities are kept, as the energy of a model without
spin-orbit coupling is invariant under S -> -S.

This file builds the tables (numpy: stencil, orbits, irrep copies, references,
invariant tensors) once per configuration; lattice_descriptor.py holds the
TorchScript module that evaluates them. The tables are canonical (version
TABLES_VERSION): the same on every machine to rounding, see symmetry.py.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .lattice import LatticeSpec, lattice_points, orbits, site_permutations
from .symmetry import DihedralGroup, decompose, invariant_tensors

BOND, CHIRAL = 1, -1

# Version of the table construction, saved with the tables (buffer
# ``tables_version``) and in the model metadata (``descriptor_tables``):
# 1: irrep bases from eigenvectors of the projectors (their rotation within a
#    degenerate eigenspace, and their signs, depended on the BLAS kernel and
#    thread count); files without the key hold version 1;
# 2: canonical bases (symmetry.projected_basis), the same on every machine.
TABLES_VERSION = 2


@dataclass
class LatticeDescriptorConfig:
    lattice: str = "square"
    a: float = 1.0
    phi: float = 0.0
    radius: float = 3.0
    bond_radius: Optional[float] = None
    bond_shells: int = 1
    chiral_radius: Optional[float] = None
    tri_shells: Optional[int] = None
    ref_decay: float = 1.5
    cross_radius: float = 0.0
    time_reversal: bool = True
    bispectrum: bool = True
    site_tol: float = 0.02
    kind: str = field(default="lattice", init=False)

    def __post_init__(self):
        if self.bond_radius is None:
            self.bond_radius = self.radius
        if self.chiral_radius is None:
            self.chiral_radius = min(self.radius, 2.0)
        if self.tri_shells is None:
            self.tri_shells = 2 if self.lattice == "square" else 1
        for name in ("radius", "bond_radius", "chiral_radius", "cross_radius"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 lattice constants, got {getattr(self, name)}")
        if not 0 < self.site_tol < 0.5:
            raise ValueError(f"site_tol must be in (0, 0.5) lattice constants, got {self.site_tol}")

    @property
    def spec(self) -> LatticeSpec:
        return LatticeSpec(self.lattice, self.a, self.phi)

    def to_dict(self) -> Dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict) -> "LatticeDescriptorConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        return cls(**d)


# ----------------------------------------------------------------------------
# construction (numpy)


@dataclass
class _Copy:
    irrep: int
    parity: int
    family: str
    radius: float
    comps: List[int]  # flat component indices, padded later


def _stencil_variables(cfg: LatticeDescriptorConfig, sites: np.ndarray):
    """Bonds (pairs) and triangles (sorted triples) of stencil site indices."""
    spec = cfg.spec
    pos = spec.positions(sites)
    dist = np.linalg.norm(pos, axis=1) / spec.a
    tol = 1e-6
    # (0, 0) is |S_i|^2: constant for unit spins, but its gradient carries the
    # field component parallel to S_i
    centers = [(0, 0)] + [(0, p) for p in range(1, len(sites)) if dist[p] <= cfg.radius + tol]

    shells = np.array(spec.shell_distances(max(cfg.bond_shells, cfg.tri_shells))) / spec.a
    pair_dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2) / spec.a
    bond_ok = np.isclose(pair_dist[..., None], shells[: cfg.bond_shells], atol=tol).any(-1)
    inner = [p for p in range(1, len(sites)) if dist[p] <= cfg.bond_radius + tol]
    neighbors = [(p, q) for p, q in itertools.combinations(inner, 2) if bond_ok[p, q]]

    side_max = shells[cfg.tri_shells - 1] + tol if cfg.tri_shells > 0 else -1.0
    close = pair_dist <= side_max
    verts = [p for p in range(len(sites)) if dist[p] <= cfg.chiral_radius + tol]
    triangles = []
    for p, q in itertools.combinations(verts, 2):
        if not close[p, q]:
            continue
        for r in verts:
            if r > q and close[p, r] and close[q, r] and abs(_area(pos[p], pos[q], pos[r])) > 1e-9:
                triangles.append((p, q, r))
    return centers, neighbors, triangles, pos


def _area(a, b, c) -> float:
    return 0.5 * ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


def _counter_clockwise(tri, pos) -> Tuple[int, int, int]:
    p, q, r = tri
    return (p, q, r) if _area(pos[p], pos[q], pos[r]) > 0 else (p, r, q)


def build_tables(cfg: LatticeDescriptorConfig) -> Dict:
    """All index and coefficient tables of the descriptor, plus a summary."""
    spec = cfg.spec
    group = spec.group()
    reach = max(cfg.radius, cfg.bond_radius, cfg.chiral_radius)
    sites = lattice_points(spec, reach * spec.a)
    perms = site_permutations(spec, sites)
    dets = np.array([group.det(g) for g in group.elements], float)
    centers, neighbors, triangles, pos = _stencil_variables(cfg, sites)

    families = [("center_bonds", centers, BOND), ("neighbor_bonds", neighbors, BOND), ("chiralities", triangles, CHIRAL)]
    variables: List[Tuple[int, ...]] = []
    var_kind: List[int] = []
    orbit_list = []  # (variable indices, rep, family, parity, radius)
    for name, items, parity in families:
        for members, rep in orbits(items, perms, parity == CHIRAL, dets):
            start = len(variables)
            variables.extend(members)
            var_kind.extend([parity] * len(members))
            radius = float(max(np.linalg.norm(pos[list(m)], axis=1).max() for m in members) / spec.a)
            orbit_list.append((list(range(start, start + len(members))), rep, name, parity, radius))

    mmax = max([len(o[0]) for o in orbit_list], default=1)
    n_var = len(variables)
    orb_var = np.full((max(len(orbit_list), 1), mmax), n_var, dtype=np.int64)  # n_var: the zero variable
    orb_u = np.zeros((max(len(orbit_list), 1), mmax, mmax))
    copies: List[_Copy] = []
    for o, (var_idx, rep, name, parity, radius) in enumerate(orbit_list):
        orb_var[o, : len(var_idx)] = var_idx
        col = 0
        for c in decompose(rep, group):
            dim = c.basis.shape[1]
            orb_u[o, : len(var_idx), col : col + dim] = c.basis
            copies.append(_Copy(c.irrep, parity, name, radius, [o * mmax + col + k for k in range(dim)]))
            col += dim
    zero_comp = orb_u.shape[0] * mmax

    bond_pairs = [v for v, k in zip(variables, var_kind) if k == BOND]
    tri_ccw = [_counter_clockwise(v, pos) for v, k in zip(variables, var_kind) if k == CHIRAL]
    # variables are ordered bonds first (centers, neighbors), then triangles
    assert var_kind == sorted(var_kind, reverse=True)

    tables = _feature_tables(cfg, group, copies, zero_comp)
    tables.update(
        sites=sites,
        basis=spec.basis,
        bond_p=np.array([b[0] for b in bond_pairs], dtype=np.int64),
        bond_q=np.array([b[1] for b in bond_pairs], dtype=np.int64),
        tri_a=np.array([t[0] for t in tri_ccw], dtype=np.int64),
        tri_b=np.array([t[1] for t in tri_ccw], dtype=np.int64),
        tri_c=np.array([t[2] for t in tri_ccw], dtype=np.int64),
        orb_var=orb_var,
        orb_u=orb_u,
        copy_comp=np.array([(c.comps + [zero_comp])[:2] for c in copies], dtype=np.int64).reshape(-1, 2),
        cutoff=_cutoff(spec, sites),
    )
    tables["summary"].update(
        point_group=group.name,
        stencil_sites=int(len(sites) - 1),
        variables={"center_bonds": len(centers), "neighbor_bonds": len(neighbors), "chiralities": len(triangles)},
        orbits=len(orbit_list),
        irrep_copies=len(copies),
        tables_version=TABLES_VERSION,
    )
    return tables


def _cutoff(spec: LatticeSpec, sites: np.ndarray) -> float:
    """Halfway between the outermost stencil shell and the next lattice shell."""
    outer = float(np.linalg.norm(spec.positions(sites), axis=1).max())
    beyond = [d for d in spec.shell_distances(int(outer / spec.a) * 8 + 8) if d > outer * (1 + 1e-9)]
    return 0.5 * (outer + beyond[0])


def _feature_tables(cfg: LatticeDescriptorConfig, group: DihedralGroup, copies: List[_Copy], zero_comp: int) -> Dict:
    ref_keys = sorted({(c.irrep, c.parity) for c in copies}, key=lambda k: (k[0], -k[1]))
    ref_index = {k: i for i, k in enumerate(ref_keys)}
    ref_weight = np.zeros((len(ref_keys), len(copies)))
    for r, c in enumerate(copies):
        w = np.exp(-c.radius / cfg.ref_decay) if cfg.ref_decay > 0 else 1.0
        ref_weight[ref_index[(c.irrep, c.parity)], r] = w

    def allowed(*parities: int) -> bool:
        return (not cfg.time_reversal) or int(np.prod(parities)) == 1

    lin, power, phase_c, phase_r = [], [], [], []
    for r, c in enumerate(copies):
        if c.irrep == 0 and allowed(c.parity):
            lin.append(c.comps[0])
        else:
            power.append(r)
            phase_c.append(r)
            phase_r.append(ref_index[(c.irrep, c.parity)])

    # cross power: pairs of copies of one reference within cross_radius, the
    # 2-dimensional ones first (their products have two terms)
    reference_of = dict(zip(power, phase_r))
    short = [r for r in power if copies[r].radius <= cfg.cross_radius + 1e-6]
    cross = [(r, s) for r, s in itertools.combinations(short, 2) if reference_of[r] == reference_of[s]]
    cross.sort(key=lambda rs: len(copies[rs[0]].comps) != 2)

    nontrivial = [k for k in ref_keys if k[0] != 0]
    bs_c, bs_2, bs_3, bs_t = [], [], [], []
    rb_1, rb_2, rb_3, rb_t = [], [], [], []
    if cfg.bispectrum:
        tensor_cache = {}

        def tensors(i1, i2, i3):
            if (i1, i2, i3) not in tensor_cache:
                tensor_cache[(i1, i2, i3)] = invariant_tensors(group, i1, i2, i3)
            return tensor_cache[(i1, i2, i3)]

        for r, c in enumerate(copies):
            if c.irrep == 0:
                continue
            own = (c.irrep, c.parity)
            for x in nontrivial:
                if not allowed(c.parity, c.parity, x[1]):
                    continue
                for t in tensors(c.irrep, c.irrep, x[0]):
                    t = _symmetrize_repeated(t, (("copy", r), own, x))
                    if np.abs(t).max() < 1e-9:
                        continue
                    bs_c.append(r)
                    bs_2.append(ref_index[own])
                    bs_3.append(ref_index[x])
                    bs_t.append(_pad(t))
        for x, y, z in itertools.combinations_with_replacement(nontrivial, 3):
            if not allowed(x[1], y[1], z[1]):
                continue
            for t in tensors(x[0], y[0], z[0]):
                t = _symmetrize_repeated(t, (x, y, z))
                if np.abs(t).max() < 1e-9:
                    continue
                rb_1.append(ref_index[x])
                rb_2.append(ref_index[y])
                rb_3.append(ref_index[z])
                rb_t.append(_pad(t))

    def idx(v):
        return np.array(v, dtype=np.int64)

    def ten(v):
        return np.array(v).reshape(-1, 2, 2, 2)

    counts = {
        "linear": len(lin),
        "power": len(power),
        "phase": len(phase_c),
        "bispectrum": len(bs_c),
        "reference_bispectrum": len(rb_1),
        "cross_power": len(cross),
    }
    return dict(
        ref_weight=ref_weight,
        lin_comp=idx(lin),
        pw_copy=idx(power),
        ph_copy=idx(phase_c),
        ph_ref=idx(phase_r),
        bs_copy=idx(bs_c),
        bs_ref2=idx(bs_2),
        bs_ref3=idx(bs_3),
        bs_t=ten(bs_t),
        rb_ref1=idx(rb_1),
        rb_ref2=idx(rb_2),
        rb_ref3=idx(rb_3),
        rb_t=ten(rb_t),
        cx_a=idx([r for r, _ in cross]),
        cx_b=idx([s for _, s in cross]),
        summary={
            "features": counts,
            "n_features": int(sum(counts.values())),
            "references": [f"{group.irreps[i].name}{'+' if p > 0 else '-'}" for i, p in ref_keys],
        },
    )


def _pad(t: np.ndarray) -> np.ndarray:
    out = np.zeros((2, 2, 2))
    out[: t.shape[0], : t.shape[1], : t.shape[2]] = t
    return out


def _symmetrize_repeated(t: np.ndarray, keys) -> np.ndarray:
    """Symmetrize t over slots that hold the same reference (the antisymmetric
    part of such a tensor gives an identically vanishing invariant)."""
    out = np.zeros_like(t)
    perms = list(itertools.permutations(range(3)))
    used = 0
    for p in perms:
        if all(keys[p[i]] == keys[i] for i in range(3)):
            out = out + np.transpose(t, p)
            used += 1
    return out / used
