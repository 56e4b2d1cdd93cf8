#!/usr/bin/python3
"""Synthetic TorchScript models (contract 1) for the pair_style mlspin throughput benchmark.

    make_bench_models.py <output folder> <lattice constant>

  literature.pt  the shape of the published square-lattice double-exchange model:
                 554 spin-rotation invariant features of the 80 sites within 5 lattice
                 constants (80 bonds S_i.S_j to the center, 386 bonds S_j.S_k between
                 neighbors, 88 scalar chiralities S_i.(S_j x S_k)), then an MLP
                 554-1024-512-256-128-64-1 with smooth (tanh) activations, float64.
                 Sites are placed by rounding edge vectors to lattice offsets, so the
                 model is meant for a frozen square lattice (pair_style mlspin forces no).
  small.pt       nearest and next-nearest neighbors (cutoff 1.5 a): 4 invariant sums,
                 MLP 4-16-16-1, float64.

The weights are random (fixed seed): the benchmark measures cost, not physics. Energies
are scaled to about a meV per spin so that LLG runs with dt = 0.1 fs stay smooth.
"""
import itertools
import json
import os
import sys

import torch

torch.set_default_dtype(torch.float64)
OUT = sys.argv[1] if len(sys.argv) > 1 else "."
A = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
os.makedirs(OUT, exist_ok=True)


def mlp(sizes):
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


class LiteratureSize(torch.nn.Module):
    def __init__(self, a: float, reach: int = 5, n_pairs: int = 386, n_triples: int = 88):
        super().__init__()
        g = torch.Generator().manual_seed(2024)
        offsets = [(dx, dy) for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)
                   if 0 < dx * dx + dy * dy <= reach * reach]
        self.n_sites = len(offsets)    # 80 for reach 5
        lookup = torch.full((2 * reach + 1, 2 * reach + 1), -1, dtype=torch.long)
        for k, (dx, dy) in enumerate(offsets):
            lookup[dx + reach, dy + reach] = k
        self.register_buffer("lookup", lookup)
        pairs = torch.tensor(list(itertools.combinations(range(self.n_sites), 2)))
        choice = torch.randperm(pairs.shape[0], generator=g)
        self.register_buffer("p", pairs[choice[:n_pairs]].t().contiguous())
        self.register_buffer("t", pairs[choice[n_pairs:n_pairs + n_triples]].t().contiguous())
        self.a = a
        self.reach = reach
        self.cutoff = a * (reach + 0.05)
        self.n_features = self.n_sites + n_pairs + n_triples    # 554
        self.net = mlp([self.n_features, 1024, 512, 256, 128, 64, 1])
        with torch.no_grad():
            for m in self.net:
                if isinstance(m, torch.nn.Linear):
                    m.weight.normal_(0.0, 1.0 / m.in_features ** 0.5, generator=g)
                    m.bias.zero_()
        self.scale = 1e-3

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        center, nbr = edge_index[0], edge_index[1]
        offset = torch.round(edge_vec[:, :2] / self.a).long() + self.reach
        site = self.lookup[offset[:, 0], offset[:, 1]]
        keep = site >= 0
        sites = torch.zeros(n_local, self.n_sites, 3, dtype=spin.dtype)
        sites = sites.index_put((center[keep], site[keep]), spin[nbr[keep]])
        si = spin[:n_local].unsqueeze(1)
        bonds = (si * sites).sum(2)
        pair_bonds = (sites[:, self.p[0]] * sites[:, self.p[1]]).sum(2)
        chirality = (si * torch.cross(sites[:, self.t[0]], sites[:, self.t[1]], dim=2)).sum(2)
        features = torch.cat([bonds, pair_bonds, chirality], 1)
        return self.scale * self.net(features).squeeze(1)


class Small(torch.nn.Module):
    def __init__(self, a: float):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.a = a
        self.cutoff = 1.5 * a
        self.net = mlp([4, 16, 16, 1])
        with torch.no_grad():
            for m in self.net:
                if isinstance(m, torch.nn.Linear):
                    m.weight.normal_(0.0, 1.0 / m.in_features ** 0.5, generator=g)
        self.scale = 1e-3

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        center, nbr = edge_index[0], edge_index[1]
        r = torch.sqrt((edge_vec * edge_vec).sum(1))
        first = (r < 1.2 * self.a).to(spin.dtype)
        sij = (spin[center] * spin[nbr]).sum(1)
        zero = torch.zeros(n_local, dtype=spin.dtype)
        f = torch.stack([zero.index_add(0, center, first * sij),
                         zero.index_add(0, center, (1.0 - first) * sij),
                         zero.index_add(0, center, first * sij * sij),
                         zero.index_add(0, center, (1.0 - first) * sij * sij)], 1)
        return self.scale * self.net(f).squeeze(1)


def save(model, name, description):
    meta = {"contract": 1, "cutoff": model.cutoff, "species": ["Fe"], "units": "metal", "dtype": "float64",
            "description": description, "reference": "bench/mlspin_throughput (synthetic, random weights)",
            "metrics": {}}
    torch.jit.save(torch.jit.script(model), os.path.join(OUT, name), _extra_files={"mlspin.json": json.dumps(meta)})


if __name__ == "__main__":
    lit = LiteratureSize(A)
    assert lit.n_features == 554, lit.n_features
    save(lit, "literature.pt", "synthetic literature-size model: 554 invariant features, MLP 1024-512-256-128-64")
    save(Small(A), "small.pt", "synthetic small model: 4 invariant sums over two shells, MLP 16-16")
