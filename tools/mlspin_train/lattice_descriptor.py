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
* reference bispectrum: T(F^X, F^Y, F^Z) for all reference triples.

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
        for name in ("radius", "bond_radius", "chiral_radius"):
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
        for name in (
            "bond_p bond_q tri_a tri_b tri_c orb_var orb_u copy_comp ref_weight lin_comp pw_copy ph_copy ph_ref "
            "bs_copy bs_ref2 bs_ref3 bs_t rb_ref1 rb_ref2 rb_ref3 rb_t"
        ).split():
            self._buffer(name, tables[name])

    def _buffer(self, name: str, value: np.ndarray) -> None:
        value = np.asarray(value)
        dtype = torch.int64 if value.dtype.kind in "iu" else torch.float64
        self.register_buffer(name, torch.tensor(value, dtype=dtype))

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        stencil = self.stencil_spins(spin, edge_index, edge_vec, n_local)
        variables = self.variables(stencil)
        comps = self.components(variables)
        return self.invariants(comps)

    def stencil_spins(self, spin: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """[n_local, n_sites, 3]: the spin of every stencil site (zero where no
        atom sits); slot 0 is the center."""
        vec = edge_vec.detach().to(self.basis.dtype)
        coords = torch.round(vec[:, :2] @ self.basis_inv.t())
        residual = vec[:, :2] - coords @ self.basis.t()
        off = torch.sqrt((residual * residual).sum(1) + vec[:, 2] * vec[:, 2])
        if bool((off > self.site_tol).any()):
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
        ints = coords.to(torch.int64)
        inside = (ints.abs() <= self.reach).all(1)
        width = 2 * self.reach + 1
        key = (ints[:, 0] + self.reach) * width + (ints[:, 1] + self.reach)
        slot = self.site_lookup[torch.where(inside, key, torch.zeros_like(key))]
        slot = torch.where(inside, slot, torch.full_like(slot, -1))
        if bool((slot == 0).any()):
            raise RuntimeError("mlspin lattice descriptor: a neighbor sits on its center (edge vector of length 0)")
        use = slot > 0
        flat = edge_index[0][use] * self.n_sites + slot[use]
        hits = torch.zeros(n_local * self.n_sites, dtype=torch.int64, device=spin.device)
        hits.index_add_(0, flat, torch.ones_like(flat))
        if bool((hits > 1).any()):
            raise RuntimeError("mlspin lattice descriptor: two neighbors of one center sit on the same lattice site")
        dense = torch.zeros(n_local * self.n_sites, 3, dtype=spin.dtype, device=spin.device)
        dense = dense.index_add(0, flat, spin[edge_index[1][use]])
        dense = dense.view(n_local, self.n_sites, 3)
        return torch.cat([spin[:n_local].unsqueeze(1), dense[:, 1:]], dim=1)

    def variables(self, s: Tensor) -> Tensor:
        bonds = (s[:, self.bond_p] * s[:, self.bond_q]).sum(-1)
        chir = (s[:, self.tri_a] * torch.cross(s[:, self.tri_b], s[:, self.tri_c], dim=-1)).sum(-1)
        zero = torch.zeros(s.shape[0], 1, dtype=s.dtype, device=s.device)
        return torch.cat([bonds, chir, zero], dim=1)

    def components(self, x: Tensor) -> Tensor:
        comps = torch.einsum("nom,omk->nok", x[:, self.orb_var], self.orb_u.to(x.dtype))
        comps = comps.reshape(x.shape[0], -1)
        zero = torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device)
        return torch.cat([comps, zero], dim=1)

    def invariants(self, comps: Tensor) -> Tensor:
        f = comps[:, self.copy_comp]  # [n, copies, 2]
        ref = torch.einsum("nrd,kr->nkd", f, self.ref_weight.to(f.dtype))
        feats = [
            comps[:, self.lin_comp],
            (f[:, self.pw_copy] ** 2).sum(-1),
            (f[:, self.ph_copy] * ref[:, self.ph_ref]).sum(-1),
            _triple(f[:, self.bs_copy], ref[:, self.bs_ref2], ref[:, self.bs_ref3], self.bs_t.to(f.dtype)),
            _triple(ref[:, self.rb_ref1], ref[:, self.rb_ref2], ref[:, self.rb_ref3], self.rb_t.to(f.dtype)),
        ]
        return torch.cat(feats, dim=1)


def _triple(a: Tensor, b: Tensor, c: Tensor, t: Tensor) -> Tensor:
    """sum_ijk t[m,i,j,k] a[n,m,i] b[n,m,j] c[n,m,k] for dims of 2: the outer
    product a b is contracted with t by a batched matrix product, then with c."""
    n, m = a.shape[0], a.shape[1]
    ab = (a.unsqueeze(3) * b.unsqueeze(2)).reshape(n, m, 4)
    abt = torch.bmm(ab.permute(1, 0, 2), t.reshape(m, 4, 2))  # [m, n, 2]
    return (abt.permute(1, 0, 2) * c).sum(-1)
