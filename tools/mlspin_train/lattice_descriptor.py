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

Inside the module, neighbors are placed on the stencil by rounding their edge
vectors to lattice coordinates: order, periodic images and ghost atoms do not
matter. Edges that do not lie on the lattice (beyond ``site_tol`` a) are an error.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .lattice import LatticeSpec, lattice_points, orbits, site_permutations
from .symmetry import DihedralGroup, decompose, invariant_tensors

BOND, CHIRAL = 1, -1


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


# ----------------------------------------------------------------------------
# the TorchScript module
#
# Layout: every per-center quantity is stored with the centers last ("centers
# as columns"): the stencil spins as [n_sites, 3, n], the variables, components
# and features as [rows, n]. Picking sites, variables or components is then a
# gather of whole rows (index_select on dim 0, whose backward is a row-wise
# index_add), linear maps are matrix products, and the products and sums over
# the 2 or 3 components of a vector run over contiguous rows of n numbers.


# tables of build_tables kept in the state dict (the evaluation tables derive from them)
STATE_TABLES = (
    "bond_p bond_q tri_a tri_b tri_c orb_var orb_u copy_comp ref_weight lin_comp pw_copy ph_copy ph_ref "
    "bs_copy bs_ref2 bs_ref3 bs_t rb_ref1 rb_ref2 rb_ref3 rb_t cx_a cx_b"
).split()
# tables added after the first release: empty in older checkpoints
OPTIONAL_TABLES = ("cx_a", "cx_b")


class LatticeDescriptor(nn.Module):
    """forward(spin, types, edge_index, edge_vec, n_local) -> [n_local, n_features]."""

    __jit_ignored_attributes__ = ["config", "summary"]

    def __init__(self, config: LatticeDescriptorConfig):
        super().__init__()
        tables = build_tables(config)
        self.config = config
        self.summary = tables["summary"]
        self.cutoff: float = float(tables["cutoff"])
        self.n_features: int = int(tables["summary"]["n_features"])
        self.uses_positions: bool = False
        self.columns: bool = True  # forward_columns() is the natural layout
        self.n_sites: int = int(len(tables["sites"]))
        self.reach: int = int(np.abs(tables["sites"]).max())
        self.site_tol: float = float(config.site_tol * config.a)
        self.lattice_name: str = config.lattice

        basis = np.asarray(tables["basis"], float)
        width = 2 * self.reach + 1
        lookup = np.full(width * width, -1, dtype=np.int64)
        for slot, (n1, n2) in enumerate(tables["sites"].tolist()):
            lookup[(n1 + self.reach) * width + (n2 + self.reach)] = slot
        self._buffer("basis", basis)
        self._buffer("basis_inv", np.linalg.inv(basis))
        self._buffer("site_lookup", lookup)
        # the tables of build_tables (in the state dict of checkpoints)
        for name in STATE_TABLES:
            self._buffer(name, tables[name])
        self._evaluation_tables(tables, basis)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Loading a state dict replaces the tables of build_tables; the evaluation
        tables derived from them are rebuilt. (The irrep bases come from eigenvectors
        in degenerate subspaces, which differ with the BLAS thread count: a checkpoint's
        tables need not be those this process would build.)"""
        for name in OPTIONAL_TABLES:
            if prefix + name not in state_dict:
                state_dict[prefix + name] = torch.zeros(0, dtype=torch.int64)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        tables = {name: getattr(self, name).cpu().numpy() for name in STATE_TABLES}
        # the stencil sites, in slot order, from the inverse table site_lookup
        lookup = self.site_lookup.cpu().numpy()
        width = 2 * self.reach + 1
        index = np.empty(self.n_sites, dtype=np.int64)
        index[lookup[lookup >= 0]] = np.nonzero(lookup >= 0)[0]
        tables["sites"] = np.stack([index // width, index % width], 1) - self.reach
        self._evaluation_tables(tables, self.basis.cpu().numpy())

    def _buffer(self, name: str, value: np.ndarray, persistent: bool = True) -> None:
        value = np.asarray(value)
        dtype = torch.int64 if value.dtype.kind in "iu" else torch.float64
        self.register_buffer(name, torch.tensor(value, dtype=dtype), persistent=persistent)

    def _evaluation_tables(self, tables: Dict, basis: np.ndarray) -> None:
        """Index and coefficient tables of forward(), derived from the tables of
        build_tables. They are not persistent: a checkpoint holds the state dict
        of the tables above, and these are rebuilt from the configuration."""
        n_sites = self.n_sites
        reach = self.reach

        # lattice coordinates of an edge vector (z ignored) and back (z kept apart)
        to_lattice = np.zeros((3, 2))
        to_lattice[:2] = np.linalg.inv(basis).T
        from_lattice = np.zeros((2, 3))
        from_lattice[:, :2] = basis.T
        self._buffer("to_lattice", to_lattice, persistent=False)
        self._buffer("from_lattice", from_lattice, persistent=False)
        self._buffer("ones3", np.ones(3), persistent=False)
        # lattice coordinates clamped to +-(reach + 1) -> stencil slot; cells
        # outside the stencil (and the border) map to the discarded slot n_sites
        side = 2 * reach + 3
        table = np.full(side * side, n_sites, dtype=np.int64)
        for slot, (n1, n2) in enumerate(tables["sites"].tolist()):
            table[(n1 + reach + 1) * side + (n2 + reach + 1)] = slot
        self.key_origin: int = int((reach + 1) * side + reach + 1)
        self.clamp: float = float(reach + 1)
        self._buffer("slot_table", table, persistent=False)
        self._buffer("key_weight", np.array([float(side), 1.0]), persistent=False)
        self._buffer("xyz", np.arange(3, dtype=np.int64).reshape(1, 3, 1), persistent=False)

        # variables x: rows [0, n_sites) S_0 . S_q for every site q, then the
        # neighbor bonds, the chiralities and a zero row
        bond_p, bond_q = tables["bond_p"], tables["bond_q"]
        n_center = int(np.sum(bond_p == 0))
        if not (np.all(bond_p[:n_center] == 0) and np.all(bond_p[n_center:] != 0)):
            raise RuntimeError("lattice descriptor tables: center bonds must come first")
        tri = [tables["tri_a"], tables["tri_b"], tables["tri_c"]]
        n_nb, n_tri = len(bond_p) - n_center, len(tri[0])
        k = np.arange(3)
        # rows of the stencil as [n_sites * 3, n]: site p, component k at 3 p + k
        nb_rows = np.stack([3 * bond_p[n_center:, None] + k, 3 * bond_q[n_center:, None] + k])
        # a . (b x c), (b x c)_k = b_{k+1} c_{k+2} - b_{k+2} c_{k+1}
        k1, k2 = (k + 1) % 3, (k + 2) % 3
        a, b, c = (t[:, None] * 3 for t in tri)
        tri_rows = np.stack([a + k, b + k1, c + k2, b + k2, c + k1])
        self._buffer("nb_rows", nb_rows.reshape(-1), persistent=False)
        self._buffer("tri_rows", tri_rows.reshape(-1), persistent=False)
        self.n_nb: int = int(n_nb)
        self.n_tri: int = int(n_tri)
        zero_row = n_sites + n_nb + n_tri
        var_row = np.concatenate(
            [bond_q[:n_center], n_sites + np.arange(n_nb), n_sites + n_nb + np.arange(n_tri), [zero_row]]
        ).astype(np.int64)

        # components: a batched product per orbit, plus an all-zero orbit whose
        # first row is the zero component (index n_orbits * mmax, as in the tables)
        orb_var, orb_u = tables["orb_var"], tables["orb_u"]
        n_orb, mmax = orb_var.shape
        orb_rows = np.concatenate([var_row[orb_var], np.full((1, mmax), zero_row, dtype=np.int64)])
        orb_ut = np.concatenate([np.transpose(orb_u, (0, 2, 1)), np.zeros((1, mmax, mmax))])
        self.n_orbits: int = int(n_orb + 1)
        self.mmax: int = int(mmax)
        self._buffer("orb_rows", orb_rows.reshape(-1), persistent=False)
        self._buffer("orb_ut", orb_ut, persistent=False)

        self._invariant_tables(tables)

    def _invariant_tables(self, tables: Dict) -> None:
        """Tables of invariants() (all rows refer to the tables of build_tables).

        Copies: the non-trivial copies f_r (those of power and phase) in groups
        by their reference F_k, 2-dimensional groups first; f0, f1 are their
        first and second components (f1 only for 2-dimensional groups). All
        copies of group k have the same partners, F_k (phase) and the same W_u
        (bispectrum), so a group's features are the dot products of each of
        its copies with each partner: one broadcast product per group. Rows of
        rw = [F_0 of all references, F_1 of all references, W_u (2 u + i)].

        Triple products T(a, b, c) = sum_i a_i W_i with W_i = sum_jk t_ijk b_j c_k
        depending only on (b, c, t): one W per distinct (b, c, t), the products
        b_j c_k once per distinct reference pair (b, c).

        The features come out grouped; column_order maps them to the order of
        the tables (lin, power, phase, bispectrum, reference bispectrum)."""
        copy_comp, ref_weight = tables["copy_comp"], tables["ref_weight"]
        zero = int(tables["orb_var"].shape[0] * tables["orb_var"].shape[1])
        n_ref = int(ref_weight.shape[0])
        pw, ph, ph_ref = (tables[k].tolist() for k in ("pw_copy", "ph_copy", "ph_ref"))
        bs_copy = tables["bs_copy"].tolist()
        n_lin, n_pw, n_bs, n_rb = len(tables["lin_comp"]), len(pw), len(bs_copy), len(tables["rb_ref1"])
        if pw != ph:
            raise RuntimeError("lattice descriptor tables: power and phase copies differ")

        # distinct W's and reference pairs
        triples = [(tables["bs_ref2"], tables["bs_ref3"], tables["bs_t"]), (tables["rb_ref2"], tables["rb_ref3"], tables["rb_t"])]
        w_index: Dict = {}
        pair_index: Dict = {}
        w_of_row: List[List[int]] = [[], []]
        w_list = []
        for which, (r2, r3, ts) in enumerate(triples):
            for m in range(len(r2)):
                pair = (int(r2[m]), int(r3[m]))
                key = pair + (ts[m].tobytes(),)
                if key not in w_index:
                    pair_index.setdefault(pair, len(pair_index))
                    w_index[key] = len(w_list)
                    w_list.append((pair_index[pair], ts[m]))
                w_of_row[which].append(w_index[key])
        pairs = sorted(pair_index, key=pair_index.get)
        # products b_j c_k of pair q at rows 4 q + 2 j + k, from rows of rw
        pj = [b + j * n_ref for b, _ in pairs for j in range(2) for _ in range(2)]
        pk = [c + k * n_ref for _, c in pairs for _ in range(2) for k in range(2)]
        self._buffer("pair_j", np.array(pj, dtype=np.int64), persistent=False)
        self._buffer("pair_k", np.array(pk, dtype=np.int64), persistent=False)
        self._buffer("w_rows", np.array([4 * q + jk for q, _ in w_list for jk in range(4)], dtype=np.int64), persistent=False)
        self._buffer("w_t", np.array([t.reshape(2, 4) for _, t in w_list]).reshape(-1, 2, 4), persistent=False)
        self.n_w: int = len(w_list)

        # groups of copies
        bs_rows: Dict[int, List[int]] = {}  # bispectrum rows of each copy, in table order
        for m, r in enumerate(bs_copy):
            bs_rows.setdefault(r, []).append(m)
        groups: Dict[int, List[int]] = {}  # reference -> positions i in pw order
        for i, k in enumerate(ph_ref):
            groups.setdefault(int(k), []).append(i)
        partners: Dict[int, List[int]] = {}
        for k, members in groups.items():
            lists = [[w_of_row[0][m] for m in bs_rows.get(pw[i], [])] for i in members]
            if any(lst != lists[0] for lst in lists):
                raise RuntimeError("lattice descriptor tables: copies of one reference have different bispectrum partners")
            partners[k] = lists[0]
        two_dim = {k: bool(copy_comp[pw[members[0]], 1] != zero) for k, members in groups.items()}
        if any(bool(copy_comp[pw[i], 1] != zero) != two_dim[k] for k, members in groups.items() for i in members):
            raise RuntimeError("lattice descriptor tables: a reference mixes irreps of different dimensions")
        order_k = sorted(groups, key=lambda k: (not two_dim[k], k))
        copy_order = [i for k in order_k for i in groups[k]]
        n_two = sum(len(groups[k]) for k in order_k if two_dim[k])
        f0 = [copy_comp[pw[i], 0] for i in copy_order]
        f1 = [copy_comp[pw[i], 1] for i in copy_order[:n_two]]

        # references as sums over the copies of their group
        ref_m0 = np.zeros((n_ref, len(f0)))
        ref_m1 = np.zeros((n_ref, len(f1)))
        for pos, i in enumerate(copy_order):
            k = ph_ref[i]
            ref_m0[k, pos] = ref_weight[k, pw[i]]
            if pos < n_two:
                ref_m1[k, pos] = ref_weight[k, pw[i]]
        used = set(ph_ref) | {b for b, _ in pairs} | {c for _, c in pairs} | set(tables["rb_ref1"].tolist())
        outside = np.ones(len(copy_comp), dtype=bool)
        outside[pw] = False
        if np.any(ref_weight[sorted(used)][:, outside] != 0):
            raise RuntimeError("lattice descriptor tables: a reference in use has copies outside its group")

        # partners and the order of the features
        off_w = 2 * n_ref
        z0: List[int] = []
        z1: List[int] = []
        canonical: List[int] = list(range(n_lin))  # feature of each row
        canonical += [n_lin + i for i in copy_order]  # power
        for k in order_k:
            z0 += [k] + [off_w + 2 * u for u in partners[k]]
            if two_dim[k]:
                z1 += [n_ref + k] + [off_w + 2 * u + 1 for u in partners[k]]
            for i in groups[k]:
                canonical.append(n_lin + n_pw + i)  # phase
                canonical += [n_lin + 2 * n_pw + m for m in bs_rows.get(pw[i], [])]
        canonical += [n_lin + 2 * n_pw + n_bs + j for j in range(n_rb)]
        canonical += [n_lin + 2 * n_pw + n_bs + n_rb + j for j in range(len(tables["cx_a"]))]
        if sorted(canonical) != list(range(self.n_features)):
            raise RuntimeError("lattice descriptor tables: the grouped features are not a permutation")
        order = np.empty(self.n_features, dtype=np.int64)
        order[np.array(canonical)] = np.arange(self.n_features)

        self._buffer("f0_rows", np.array(f0, dtype=np.int64), persistent=False)
        self._buffer("f1_rows", np.array(f1, dtype=np.int64), persistent=False)
        self._buffer("ref_m0", ref_m0, persistent=False)
        self._buffer("ref_m1", ref_m1, persistent=False)
        self._buffer("z0_rows", np.array(z0, dtype=np.int64), persistent=False)
        self._buffer("z1_rows", np.array(z1, dtype=np.int64), persistent=False)
        self._buffer("feature_order", order, persistent=False)
        self._buffer("column_order", np.array(canonical, dtype=np.int64), persistent=False)
        self.group_copies: List[int] = [len(groups[k]) for k in order_k]
        self.group_partners: List[int] = [1 + len(partners[k]) for k in order_k]
        self.n_two_dim: int = int(sum(1 for k in order_k if two_dim[k]))
        self.n_copies_two: int = int(n_two)
        self.n_copies_one: int = int(n_pw - n_two)
        # reference bispectrum F_k . W_u: dot products of gathered rows of rw
        left = [[kk + d * n_ref for d in range(2)] for kk in tables["rb_ref1"]]
        right = [[off_w + 2 * u + d for d in range(2)] for u in w_of_row[1]]
        self._buffer("rb_left", np.array(left, dtype=np.int64).reshape(-1, 2).T.reshape(-1), persistent=False)
        self._buffer("rb_right", np.array(right, dtype=np.int64).reshape(-1, 2).T.reshape(-1), persistent=False)
        self.n_rb: int = int(n_rb)
        self._cross_tables(tables, copy_order, pw, n_two)

    def _cross_tables(self, tables: Dict, copy_order: List[int], pw: List[int], n_two: int) -> None:
        """Rows of f0 and f1 (see _invariant_tables) of the cross power pairs."""
        row_of_copy = {pw[i]: pos for pos, i in enumerate(copy_order)}
        a = [row_of_copy[int(r)] for r in tables["cx_a"]]
        b = [row_of_copy[int(r)] for r in tables["cx_b"]]
        two = [i < n_two for i in a]
        if two != sorted(two, reverse=True) or any((i < n_two) != (j < n_two) for i, j in zip(a, b)):
            raise RuntimeError("lattice descriptor tables: cross power pairs must pair copies of one dimension, 2-dimensional first")
        n_cx_two = sum(two)
        self._buffer("cx0_a", np.array(a, dtype=np.int64), persistent=False)
        self._buffer("cx0_b", np.array(b, dtype=np.int64), persistent=False)
        self._buffer("cx1_a", np.array(a[:n_cx_two], dtype=np.int64), persistent=False)
        self._buffer("cx1_b", np.array(b[:n_cx_two], dtype=np.int64), persistent=False)
        self.n_cx: int = len(a)
        self.n_cx_two: int = int(n_cx_two)

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        x = self.forward_columns(spin, types, edge_index, edge_vec, n_local)
        return x.index_select(0, self.feature_order).t()

    def forward_columns(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """[n_features, n_local]: features x centers, row k holding feature
        column_order[k] (forward() puts them in order)."""
        stencil = self.stencil_spins(spin, edge_index, edge_vec, n_local)
        variables = self.variables(stencil)
        comps = self.components(variables)
        return self.invariants(comps)

    def site_atoms(self, n_atoms: int, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """[n_local, n_sites]: the atom on stencil site p of center c (``n_atoms``
        where no atom sits); site 0 is the center itself."""
        n_sites = self.n_sites
        vec = edge_vec.detach().to(self.basis.dtype)
        coords = torch.round(torch.mm(vec, self.to_lattice))
        residual = vec - torch.mm(coords, self.from_lattice)
        off2 = torch.mv(residual * residual, self.ones3)
        if off2.numel() > 0 and float(off2.max()) > self.site_tol * self.site_tol:
            off = torch.sqrt(off2)
            worst = int(torch.argmax(off))
            raise RuntimeError(
                "mlspin lattice descriptor: edge vector ("
                + str(float(vec[worst, 0]))
                + ", "
                + str(float(vec[worst, 1]))
                + ", "
                + str(float(vec[worst, 2]))
                + ") is not a vector of the model's "
                + self.lattice_name
                + " lattice (off by "
                + str(float(off[worst]))
                + "); the model needs atoms on that lattice in the xy plane"
            )
        key = torch.mv(coords.clamp(-self.clamp, self.clamp), self.key_weight).to(torch.int64) + self.key_origin
        slot = self.slot_table.index_select(0, key)
        # center-major slots (edges come grouped by center: local writes);
        # slot n_sites collects the edges beyond the stencil
        flat = edge_index[0] * (n_sites + 1) + slot
        size = n_local * (n_sites + 1)
        if flat.numel() > 0:
            counts = torch.bincount(flat, minlength=size)[:size].view(n_local, n_sites + 1)
            if int(counts[:, 0].max()) > 0:
                raise RuntimeError("mlspin lattice descriptor: a neighbor sits on its center (edge vector of length 0)")
            if int(counts[:, 1:n_sites].max()) > 1:
                raise RuntimeError("mlspin lattice descriptor: two neighbors of one center sit on the same lattice site")
        atoms = torch.full([size], n_atoms, dtype=torch.int64, device=edge_index.device)
        atoms = atoms.scatter_(0, flat, edge_index[1]).view(n_local, n_sites + 1)
        atoms[:, 0] = torch.arange(n_local, dtype=torch.int64, device=edge_index.device)
        return atoms[:, :n_sites]

    def stencil_spins(self, spin: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """[n_sites, 3, n_local]: the spin of every stencil site of every center
        (zero where no atom sits); site 0 is the center."""
        atoms = self.site_atoms(spin.shape[0], edge_index, edge_vec, n_local)
        # one gather from the flat spins (and a zero), whose backward is a plain
        # scalar index_add: element (p, k, c) is component k of atom atoms[c, p]
        flat = torch.cat([spin.reshape(-1), spin.new_zeros(3)])
        index = (atoms.t().contiguous() * 3).unsqueeze(1) + self.xyz
        return flat.index_select(0, index.view(-1)).view(self.n_sites, 3, n_local)

    def variables(self, s: Tensor) -> Tensor:
        """[n_sites + n_bonds + n_triangles + 1, n]: S_0 . S_q for all sites q,
        neighbor bonds, chiralities, zero."""
        n = s.shape[2]
        rows = s.view(self.n_sites * 3, n)
        center = (s * s[:1]).sum(1)
        # unbind (not indexing): its backward is one stack, not a zero tensor per part
        p, q = rows.index_select(0, self.nb_rows).view(2, self.n_nb, 3, n).unbind(0)
        bonds = (p * q).sum(1)
        a, b1, c2, b2, c1 = rows.index_select(0, self.tri_rows).view(5, self.n_tri, 3, n).unbind(0)
        chir = (a * (b1 * c2 - b2 * c1)).sum(1)
        return torch.cat([center, bonds, chir, s.new_zeros(1, n)], dim=0)

    def components(self, x: Tensor) -> Tensor:
        """[n_orbits * mmax, n]: irrep components of every orbit (rows as in the tables)."""
        n = x.shape[1]
        xo = x.index_select(0, self.orb_rows).view(self.n_orbits, self.mmax, n)
        return torch.bmm(self.orb_ut, xo).view(self.n_orbits * self.mmax, n)

    def invariants(self, comps: Tensor) -> Tensor:
        """[n_features, n], rows in the order column_order."""
        n = comps.shape[1]
        f0 = comps.index_select(0, self.f0_rows)
        f1 = comps.index_select(0, self.f1_rows)
        ref = torch.cat([torch.mm(self.ref_m0, f0), torch.mm(self.ref_m1, f1)], dim=0)
        prod = ref.index_select(0, self.pair_j) * ref.index_select(0, self.pair_k)
        w = torch.bmm(self.w_t, prod.index_select(0, self.w_rows).view(self.n_w, 4, n))
        rw = torch.cat([ref, w.view(2 * self.n_w, n)], dim=0)
        z0s = rw.index_select(0, self.z0_rows).split(self.group_partners, 0)
        z1s = rw.index_select(0, self.z1_rows).split(self.group_partners[: self.n_two_dim], 0)
        f0_two, f0_one = f0.split([self.n_copies_two, self.n_copies_one], 0)
        f0s = f0.split(self.group_copies, 0)
        f1s = f1.split(self.group_copies[: self.n_two_dim], 0)
        feats = [comps.index_select(0, self.lin_comp), f0_two * f0_two + f1 * f1, f0_one * f0_one]
        for g in range(len(self.group_copies)):
            dots = f0s[g].unsqueeze(1) * z0s[g].unsqueeze(0)
            if g < self.n_two_dim:
                dots = dots + f1s[g].unsqueeze(1) * z1s[g].unsqueeze(0)
            feats.append(dots.view(dots.shape[0] * dots.shape[1], n))
        left = rw.index_select(0, self.rb_left).view(2, self.n_rb, n)
        right = rw.index_select(0, self.rb_right).view(2, self.n_rb, n)
        feats.append((left * right).sum(0))
        if self.n_cx > 0:
            cross = f0.index_select(0, self.cx0_a) * f0.index_select(0, self.cx0_b)
            two = f1.index_select(0, self.cx1_a) * f1.index_select(0, self.cx1_b)
            feats.append(torch.cat([cross[: self.n_cx_two] + two, cross[self.n_cx_two :]], dim=0))
        return torch.cat(feats, dim=0)
