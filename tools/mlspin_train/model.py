"""The model: descriptor -> standardization -> per-species MLP -> site energy.

E = sum_i e_{type(i)}(descriptor_i). forward() follows the model contract
(MODEL_CONTRACT.md, version 1) and returns the energies of the local atoms.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor, nn

from .continuous_descriptor import ContinuousDescriptor, ContinuousDescriptorConfig
from .lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig

# The layers of the networks can also act on features x atoms ("columns"):
# forward_columns(x) with x [n_in, n] gives [n_out, n]. Models of one species
# with a descriptor that computes its features in that layout (the lattice
# descriptor) use it: the gradient with respect to the features comes back in
# the same layout (W^T g), which keeps the backward pass of the descriptor on
# contiguous rows, and the descriptor's own order of the features is taken
# into account by picking columns of the first weight matrix instead of
# reordering the features. Same parameters and state dict as nn.Linear and the
# torch activations.


class Linear(nn.Linear):
    def forward_columns(self, x: Tensor, order: Optional[Tensor] = None) -> Tensor:
        """W x + b; ``order``: x holds the inputs in this order (W's columns are picked)."""
        weight = self.weight if order is None else self.weight.index_select(1, order)
        return torch.addmm(self.bias.unsqueeze(1), weight, x)


class Activation(nn.Module):
    """An elementwise torch activation with forward_columns (the layout does not matter)."""

    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def forward_columns(self, x: Tensor, order: Optional[Tensor] = None) -> Tensor:
        return self.fn(x)


ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "softplus": nn.Softplus, "gelu": nn.GELU}


def mlp(n_in: int, hidden: Sequence[int], activation: str) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation '{activation}' is not one of {sorted(ACTIVATIONS)} (smooth activations only)")
    layers: List[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [Linear(width, h), Activation(ACTIVATIONS[activation]())]
        width = h
    layers.append(Linear(width, 1))
    return nn.Sequential(*layers)


def descriptor_from_config(cfg: Dict) -> nn.Module:
    kind = cfg.get("kind")
    if kind == "lattice":
        return LatticeDescriptor(LatticeDescriptorConfig.from_dict(cfg))
    if kind == "continuous":
        return ContinuousDescriptor(ContinuousDescriptorConfig.from_dict(cfg))
    raise ValueError(f"unknown descriptor kind '{kind}': expected 'lattice' or 'continuous'")


class MLSpinModel(nn.Module):
    """Contract-v1 module: forward(spin, types, edge_index, edge_vec, n_local) -> [n_local]."""

    __jit_ignored_attributes__ = ["config"]

    def __init__(self, config: Dict):
        super().__init__()
        self.config = copy.deepcopy(config)
        self.descriptor = descriptor_from_config(config["descriptor"])
        species = config["species"]
        n_feat = self.descriptor.n_features
        self.n_species: int = len(species)
        self.cutoff: float = float(self.descriptor.cutoff)
        self.uses_positions: bool = bool(self.descriptor.uses_positions)
        self.nets = nn.ModuleList([mlp(n_feat, config["hidden"], config.get("activation", "silu")) for _ in species])
        self.register_buffer("feature_mean", torch.zeros(n_feat, dtype=torch.float64))
        self.register_buffer("feature_scale", torch.ones(n_feat, dtype=torch.float64))
        self.register_buffer("energy_shift", torch.zeros(self.n_species, dtype=torch.float64))
        self.register_buffer("energy_scale", torch.ones((), dtype=torch.float64))
        # e_i += c_s (|S_i|^2 - 1): zero for unit spins, gives the mean field along S_i
        self.register_buffer("magnitude_coef", torch.zeros(self.n_species, dtype=torch.float64))
        self.double()

    def features(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """Standardized descriptors of the local atoms."""
        dtype = self.feature_mean.dtype
        x = self.descriptor(spin.to(dtype), types, edge_index, edge_vec.to(dtype), n_local)
        return (x - self.feature_mean) / self.feature_scale

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        if self.n_species == 1 and self.descriptor.columns:
            energy = self._energy_columns(spin, types, edge_index, edge_vec, n_local)
        else:
            energy = self._energy_rows(spin, types, edge_index, edge_vec, n_local)
        if not self.uses_positions:
            # the energy does not depend on positions; keep edge_vec in the graph so
            # that a gradient with respect to it exists (and is zero)
            energy = energy + 0.0 * edge_vec.sum().to(energy.dtype)
        return energy

    def _check_types(self, types: Tensor, n_local: int) -> None:
        t = types[:n_local]
        if n_local > 0 and bool(((t < 0) | (t >= self.n_species)).any()):
            raise RuntimeError("mlspin model: a type index is outside 0.." + str(self.n_species - 1))

    def _energy_rows(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        x = self.features(spin, types, edge_index, edge_vec, n_local)
        self._check_types(types, n_local)
        t = types[:n_local]
        energy = torch.zeros(n_local, dtype=x.dtype, device=x.device)
        for s, net in enumerate(self.nets):
            if self.n_species == 1:
                # every local atom: no selection of rows
                s_loc = spin[:n_local].to(x.dtype)
                length2 = (s_loc * s_loc).sum(1)
                e = net(x).squeeze(1) * self.energy_scale + self.energy_shift[s]
                energy = e + self.magnitude_coef[s] * (length2 - 1.0)
            else:
                sel = torch.nonzero(t == s).squeeze(1)
                if sel.numel() > 0:
                    s_sel = spin[sel].to(x.dtype)
                    length2 = (s_sel * s_sel).sum(1)
                    e = net(x[sel]).squeeze(1) * self.energy_scale + self.energy_shift[s]
                    e = e + self.magnitude_coef[s] * (length2 - 1.0)
                    energy = energy.index_put((sel,), e)
        return energy

    def _energy_columns(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """One species, features x atoms in the descriptor's order (column_order[k]:
        the feature in row k); the same numbers as _energy_rows."""
        dtype = self.feature_mean.dtype
        x = self.descriptor.forward_columns(spin.to(dtype), types, edge_index, edge_vec.to(dtype), n_local)
        self._check_types(types, n_local)
        order = self.descriptor.column_order
        h = (x - self.feature_mean.index_select(0, order).unsqueeze(1)) / self.feature_scale.index_select(0, order).unsqueeze(1)
        s_loc = spin[:n_local].to(dtype)
        length2 = (s_loc * s_loc).sum(1)
        energy = torch.zeros(n_local, dtype=dtype, device=x.device)
        for net in self.nets:
            first: Optional[Tensor] = order
            for layer in net:
                h = layer.forward_columns(h, first)
                first = None
            e = h[0] * self.energy_scale + self.energy_shift[0]
            energy = e + self.magnitude_coef[0] * (length2 - 1.0)
        return energy


def build_model(config: Dict) -> MLSpinModel:
    return MLSpinModel(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
