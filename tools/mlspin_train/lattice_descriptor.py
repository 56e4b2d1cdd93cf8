"""Lattice-symmetric descriptor: the TorchScript module.

The invariants and their tables are described and built in lattice_tables.py
(LatticeDescriptorConfig and build_tables are imported from there and remain
importable from here). The module reads them from its buffers: a model loaded
from a checkpoint or a model file evaluates the tables it was trained with,
whatever the table construction of this version would give.

Inside the module, neighbors are placed on the stencil by rounding their edge
vectors to lattice coordinates: order, periodic images and ghost atoms do not
matter. Edges that do not lie on the lattice (beyond ``site_tol`` a) are an error.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn

from .lattice_tables import TABLES_VERSION, LatticeDescriptorConfig, build_tables  # noqa: F401 (re-exported)

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
        # which construction made the tables above; travels with them in the state dict
        self._buffer("tables_version", np.array(TABLES_VERSION, dtype=np.int64))
        self._evaluation_tables(tables, basis)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Loading a state dict replaces the tables of build_tables; the evaluation
        tables derived from them are rebuilt. A checkpoint's tables need not be
        those this version builds: version 1 tables (no ``tables_version`` in the
        state dict) have other irrep bases, which the model was trained with."""
        for name in OPTIONAL_TABLES:
            if prefix + name not in state_dict:
                state_dict[prefix + name] = torch.zeros(0, dtype=torch.int64)
        if prefix + "tables_version" not in state_dict:
            state_dict[prefix + "tables_version"] = torch.tensor(1, dtype=torch.int64)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.summary = dict(self.summary, tables_version=int(self.tables_version))
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
