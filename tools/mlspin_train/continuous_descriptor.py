"""Continuous descriptor for spins on moving atoms.

For a center i with neighbors j inside the cutoff rc (edge vectors r_ij):

    g_k(r)   = exp(-((r - mu_k) / w)^2) fc(r),  fc(r) = (1 - (r/rc)^2)^3 for r < rc,
               one set of n_radial Gaussians per neighbor species (channels c = (species, k));
    Y_lm     = real spherical harmonics of r_ij / |r_ij|, l <= lmax.

Expansions over neighbors (sums, so independent of neighbor order):

    A_c,lm      = sum_j g_c Y_lm                     (geometry)
    B_c,lm      = sum_j g_c Y_lm (S_i . S_j)          (exchange-like)
    V_c,lm,a    = sum_j g_c Y_lm S_j,a                (spin vector in spin space)

Invariants (rotations of space and, separately, of spin space; translations;
permutations; space inversion):

    |S_i|^2      (its gradient is the field component along S_i)
    rho_c        = sum_j g_c(r_ij),     e_c = sum_j g_c (S_i . S_j)
    P^A_cc'l     = sum_m A_clm A_c'lm,   P^B likewise, P^V_cc'l = sum_m,a V_clma V_c'lma
    X_cc'l       = (sum_m S_i . (V_clm x V_c'lm))^2   for c < c'   (chirality, squared:
                   even under S -> -S)

The sum over m of products of equal l is a Legendre polynomial of the angle
between two neighbors (addition theorem), so P^V contains the geometry-weighted
bonds S_j . S_k of neighbor pairs and X their scalar chiralities with S_i.
fc and its first two derivatives vanish at rc, so forces and the virial are
continuous when atoms cross the cutoff.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn


@dataclass
class ContinuousDescriptorConfig:
    cutoff: float = 4.0
    n_radial: int = 6
    r_min: float = 0.5
    lmax: int = 2
    n_species: int = 1
    kind: str = field(default="continuous", init=False)

    def __post_init__(self):
        if not self.cutoff > 0:
            raise ValueError(f"cutoff must be positive, got {self.cutoff}")
        if not 0 <= self.lmax <= 3:
            raise ValueError(f"lmax must be between 0 and 3, got {self.lmax}")
        if self.n_radial < 1:
            raise ValueError(f"n_radial must be >= 1, got {self.n_radial}")
        if not 0 <= self.r_min < self.cutoff:
            raise ValueError(f"r_min must be in [0, cutoff), got {self.r_min}")

    def to_dict(self) -> Dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict) -> "ContinuousDescriptorConfig":
        return cls(**{k: v for k, v in d.items() if k != "kind"})


def real_spherical_harmonics(u: Tensor, lmax: int) -> Tensor:
    """Orthonormal real spherical harmonics of unit vectors u [E, 3] -> [E, (lmax+1)^2]."""
    x, y, z = u[:, 0], u[:, 1], u[:, 2]
    out: List[Tensor] = [torch.full_like(x, 0.5 * math.sqrt(1.0 / math.pi))]
    if lmax >= 1:
        c1 = math.sqrt(3.0 / (4.0 * math.pi))
        out += [c1 * y, c1 * z, c1 * x]
    if lmax >= 2:
        c2 = 0.5 * math.sqrt(15.0 / math.pi)
        out += [
            c2 * x * y,
            c2 * y * z,
            0.25 * math.sqrt(5.0 / math.pi) * (3.0 * z * z - 1.0),
            c2 * x * z,
            0.5 * c2 * (x * x - y * y),
        ]
    if lmax >= 3:
        out += [
            0.25 * math.sqrt(35.0 / (2.0 * math.pi)) * y * (3.0 * x * x - y * y),
            0.5 * math.sqrt(105.0 / math.pi) * x * y * z,
            0.25 * math.sqrt(21.0 / (2.0 * math.pi)) * y * (5.0 * z * z - 1.0),
            0.25 * math.sqrt(7.0 / math.pi) * z * (5.0 * z * z - 3.0),
            0.25 * math.sqrt(21.0 / (2.0 * math.pi)) * x * (5.0 * z * z - 1.0),
            0.25 * math.sqrt(105.0 / math.pi) * z * (x * x - y * y),
            0.25 * math.sqrt(35.0 / (2.0 * math.pi)) * x * (x * x - 3.0 * y * y),
        ]
    return torch.stack(out, dim=1)


class ContinuousDescriptor(nn.Module):
    """forward(spin, types, edge_index, edge_vec, n_local) -> [n_local, n_features]."""

    __jit_ignored_attributes__ = ["config", "summary"]

    def __init__(self, config: ContinuousDescriptorConfig):
        super().__init__()
        self.config = config
        self.cutoff: float = float(config.cutoff)
        self.lmax: int = int(config.lmax)
        self.n_species: int = int(config.n_species)
        self.uses_positions: bool = True
        self.columns: bool = True  # forward_columns() is the natural layout
        n_ch = config.n_species * config.n_radial
        n_l = config.lmax + 1
        n_lm = n_l * n_l
        centers = np.linspace(config.r_min, config.cutoff, config.n_radial + 1)[:-1] if config.n_radial > 1 else np.array([config.r_min])
        width = (config.cutoff - config.r_min) / config.n_radial
        self.register_buffer("mu", torch.tensor(centers, dtype=torch.float64))
        self.register_buffer("inv_width", torch.tensor(1.0 / width, dtype=torch.float64))
        l_of_m = np.repeat(np.arange(n_l), 2 * np.arange(n_l) + 1)
        self.register_buffer("l_sum", torch.tensor(np.eye(n_l)[l_of_m], dtype=torch.float64))  # [n_lm, n_l]
        iu = np.triu_indices(n_ch)
        iu_strict = np.triu_indices(n_ch, k=1)
        self.register_buffer("tri_a", torch.tensor(iu[0]))
        self.register_buffer("tri_b", torch.tensor(iu[1]))
        self.register_buffer("str_a", torch.tensor(iu_strict[0]))
        self.register_buffer("str_b", torch.tensor(iu_strict[1]))
        n_pairs, n_strict = len(iu[0]), len(iu_strict[0])
        counts = {
            "self": 1,
            "radial_density": n_ch,
            "radial_exchange": n_ch,
            "angular_geometry": n_pairs * n_l,
            "angular_exchange": n_pairs * n_l,
            "angular_spin": n_pairs * n_l,
            "chirality": n_strict * n_l,
        }
        self.n_features: int = int(sum(counts.values()))
        self.register_buffer("column_order", torch.arange(self.n_features), persistent=False)
        self.register_buffer("ones3", torch.ones(3, dtype=torch.float64), persistent=False)
        self.summary = {"features": counts, "n_features": self.n_features, "channels": n_ch, "n_lm": n_lm}

    def radial(self, r: Tensor, nbr_types: Tensor) -> Tensor:
        x = torch.clamp(r / self.cutoff, max=1.0)
        fc = (1.0 - x * x) ** 3
        g = torch.exp(-(((r.unsqueeze(1) - self.mu) * self.inv_width) ** 2)) * fc.unsqueeze(1)
        if self.n_species > 1:
            onehot = torch.nn.functional.one_hot(nbr_types, self.n_species).to(g.dtype)
            g = (onehot.unsqueeze(2) * g.unsqueeze(1)).reshape(r.shape[0], -1)
        return g

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        return self.forward_columns(spin, types, edge_index, edge_vec, n_local).t()

    def forward_columns(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """[n_features, n_local]: features x atoms (rows in the order column_order).

        The sums over neighbors are one batched matrix product per call: the
        neighbors of a center in slots 0..width-1 (padded with zero radial
        functions), A and V = sum_k g_k^T [Y_k, S_k Y_k]; then everything is
        computed with the atoms last. B = S_i . V (S_i does not depend on j)."""
        center, nbr = edge_index[0], edge_index[1]
        vec = edge_vec
        r = torch.sqrt(torch.mv(vec * vec, self.ones3.to(vec.dtype)))
        if r.numel() > 0 and float(r.max()) >= self.cutoff:
            inside = r < self.cutoff
            center, nbr, vec, r = center[inside], nbr[inside], vec[inside], r[inside]
        n_edges = int(center.shape[0])
        if n_edges > 1 and bool((center[1:] < center[:-1]).any()):
            order = torch.sort(center, stable=True)[1]
            center, nbr, vec, r = center[order], nbr[order], vec[order], r[order]
        g = self.radial(r, types[nbr])  # [E, C]
        ylm = real_spherical_harmonics(vec / r.unsqueeze(1), self.lmax)  # [E, M]
        n_ch, n_lm = g.shape[1], ylm.shape[1]
        # per edge: Y_m and S_j,a Y_m (a major)
        right = torch.cat([ylm, (spin[nbr].unsqueeze(2) * ylm.unsqueeze(1)).reshape(n_edges, 3 * n_lm)], dim=1)
        n_right = right.shape[1]
        counts = torch.bincount(center, minlength=n_local)[:n_local]
        width = int(counts.max()) if n_edges > 0 else 0
        if n_edges == n_local * width:
            # every center has the same number of neighbors (a full lattice)
            gp = g.view(n_local, width, n_ch)
            rp = right.view(n_local, width, n_right)
        else:
            start = torch.cumsum(counts, 0) - counts
            slot = torch.arange(n_edges, dtype=torch.int64, device=center.device) - start[center]
            index = torch.full([n_local * width], n_edges, dtype=torch.int64, device=center.device)
            index = index.scatter_(0, center * width + slot, torch.arange(n_edges, dtype=torch.int64, device=center.device))
            # empty slots: zero radial functions (their right-hand rows may be any edge's)
            gp = torch.cat([g, g.new_zeros(1, n_ch)]).index_select(0, index).view(n_local, width, n_ch)
            rp = right.index_select(0, index.clamp(max=max(n_edges - 1, 0))).view(n_local, width, n_right)
        x = torch.bmm(gp.transpose(1, 2), rp).permute(1, 2, 0).contiguous()  # [C, 4M, n]
        a = x[:, :n_lm]
        v = x[:, n_lm:].view(n_ch, 3, n_lm, n_local)
        s_c = spin[:n_local].t()  # [3, n]
        b = (v * s_c.view(1, 3, 1, n_local)).sum(1)
        y00 = 0.5 * math.sqrt(1.0 / math.pi)
        feats = [
            (s_c * s_c).sum(0, keepdim=True),
            a[:, 0] / y00,
            b[:, 0] / y00,
            self.power(a),
            self.power(b),
            self.power_vec(v),
            self.chirality(v, s_c),
        ]
        return torch.cat(feats, dim=0)

    def _l_sums(self, p: Tensor) -> Tensor:
        """[pairs, M, n] -> [pairs * L, n]: sums over m of each l."""
        sums = [p[:, l * l : (l + 1) * (l + 1)].sum(1) for l in range(self.lmax + 1)]
        return torch.stack(sums, dim=1).view(p.shape[0] * (self.lmax + 1), p.shape[2])

    def power(self, a: Tensor) -> Tensor:
        """a [C, M, n] -> sum_m a_cm a_c'm per l, pairs c <= c'."""
        return self._l_sums(a.index_select(0, self.tri_a) * a.index_select(0, self.tri_b))

    def power_vec(self, v: Tensor) -> Tensor:
        """v [C, 3, M, n] -> sum_m,a v_cma v_c'ma per l."""
        return self._l_sums((v.index_select(0, self.tri_a) * v.index_select(0, self.tri_b)).sum(1))

    def chirality(self, v: Tensor, s_center: Tensor) -> Tensor:
        """(sum_m S_i . (v_cm x v_c'm))^2 per l, pairs c < c'."""
        a0, a1, a2 = v.index_select(0, self.str_a).unbind(1)
        b0, b1, b2 = v.index_select(0, self.str_b).unbind(1)
        s0, s1, s2 = s_center.unbind(0)
        triple = (a1 * b2 - a2 * b1) * s0 + (a2 * b0 - a0 * b2) * s1 + (a0 * b1 - a1 * b0) * s2
        t = self._l_sums(triple)
        return t * t


def _scatter(values: Tensor, index: Tensor, n: int) -> Tensor:
    out = torch.zeros(n, values.shape[1], dtype=values.dtype, device=values.device)
    return out.index_add(0, index, values)
