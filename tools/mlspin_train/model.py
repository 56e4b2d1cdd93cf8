"""The model: descriptor -> standardization -> per-species MLP -> site energy.

E = sum_i e_{type(i)}(descriptor_i). forward() follows the model contract
(MODEL_CONTRACT.md, version 1) and returns the energies of the local atoms.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Sequence

import torch
from torch import Tensor, nn

from .continuous_descriptor import ContinuousDescriptor, ContinuousDescriptorConfig
from .lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig

ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "softplus": nn.Softplus, "gelu": nn.GELU}


def mlp(n_in: int, hidden: Sequence[int], activation: str) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation '{activation}' is not one of {sorted(ACTIVATIONS)} (smooth activations only)")
    layers: List[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, 1))
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
        x = self.features(spin, types, edge_index, edge_vec, n_local)
        t = types[:n_local]
        if n_local > 0 and bool(((t < 0) | (t >= self.n_species)).any()):
            raise RuntimeError("mlspin model: a type index is outside 0.." + str(self.n_species - 1))
        energy = torch.zeros(n_local, dtype=x.dtype, device=x.device)
        for s, net in enumerate(self.nets):
            sel = torch.nonzero(t == s).squeeze(1)
            if sel.numel() > 0:
                s_sel = spin[sel].to(x.dtype)
                length2 = (s_sel * s_sel).sum(1)
                e = net(x[sel]).squeeze(1) * self.energy_scale + self.energy_shift[s]
                e = e + self.magnitude_coef[s] * (length2 - 1.0)
                energy = energy.index_put((sel,), e)
        if not self.uses_positions:
            # the energy does not depend on positions; keep edge_vec in the graph so
            # that a gradient with respect to it exists (and is zero)
            energy = energy + 0.0 * edge_vec.sum().to(energy.dtype)
        return energy


def build_model(config: Dict) -> MLSpinModel:
    return MLSpinModel(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
