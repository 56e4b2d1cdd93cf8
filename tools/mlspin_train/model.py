"""The model: descriptor -> standardization -> per-species MLP -> site energy.

E = sum_i e_{type(i)}(descriptor_i). forward() follows the model contract
(doc/model_contract.rst, version 1) and returns the energies of the local atoms.

With ``config["mu_input"]`` (contract 2, MLSpinMuModel) the chemical potential is one
more (standardised) input of every network, and the site energies are local grand
potentials

    omega_i(S; mu) = b_s - nbar_s (mu - mu0) - chi_s (mu - mu0)^2 / 2
                     + c_s (|S_i|^2 - 1) + scale * net_s(x_i, (mu - mu0) / mu_scale),

with the baseline density nbar_s and compressibility chi_s >= 0 of species s fitted
to the training densities, so that n_i = -d omega_i/d mu = nbar_s + chi_s (mu - mu0)
- scale * d net_s/d mu starts out as a nondecreasing function of mu.
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
    def forward_columns(self, x: Tensor, order: Optional[Tensor] = None, last: Optional[Tensor] = None) -> Tensor:
        """W x + b; ``order``: x holds the inputs in this order (W's columns are picked);
        ``last`` [n]: the value of the last input for each column, which x does not hold."""
        weight = self.weight
        bias = self.bias.unsqueeze(1)
        if last is not None:
            n_in = weight.shape[1] - 1
            bias = bias + weight[:, n_in:] * last.unsqueeze(0)
            weight = weight[:, :n_in]
        if order is not None:
            weight = weight.index_select(1, order)
        return torch.addmm(bias, weight, x)


class Activation(nn.Module):
    """An elementwise torch activation with forward_columns (the layout does not matter)."""

    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def forward_columns(self, x: Tensor, order: Optional[Tensor] = None, last: Optional[Tensor] = None) -> Tensor:
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
        n_in = n_feat + (1 if config.get("mu_input", False) else 0)  # mu: the last input
        self.nets = nn.ModuleList([mlp(n_in, config["hidden"], config.get("activation", "silu")) for _ in species])
        self.register_buffer("feature_mean", torch.zeros(n_feat, dtype=torch.float64))
        self.register_buffer("feature_scale", torch.ones(n_feat, dtype=torch.float64))
        self.register_buffer("energy_shift", torch.zeros(self.n_species, dtype=torch.float64))
        self.register_buffer("energy_scale", torch.ones((), dtype=torch.float64))
        # e_i += c_s (|S_i|^2 - 1): zero for unit spins, gives the mean field along S_i
        self.register_buffer("magnitude_coef", torch.zeros(self.n_species, dtype=torch.float64))
        self.takes_mu: bool = bool(config.get("mu_input", False))
        if self.takes_mu:
            # mu0, mu_scale: standardisation of the mu input; density_shift nbar_s and
            # compressibility chi_s: the baseline n_i = nbar_s + chi_s (mu - mu0)
            self.register_buffer("mu_mean", torch.zeros((), dtype=torch.float64))
            self.register_buffer("mu_scale", torch.ones((), dtype=torch.float64))
            self.register_buffer("density_shift", torch.zeros(self.n_species, dtype=torch.float64))
            self.register_buffer("compressibility", torch.zeros(self.n_species, dtype=torch.float64))
            # [lo, hi]: the chemical potentials of the training data (metadata mu_range)
            self.register_buffer("mu_range", torch.zeros(2, dtype=torch.float64))
        self.double()

    def features(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        """Standardized descriptors of the local atoms."""
        dtype = self.feature_mean.dtype
        x = self.descriptor(spin.to(dtype), types, edge_index, edge_vec.to(dtype), n_local)
        return (x - self.feature_mean) / self.feature_scale

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        return self._energies(spin, types, edge_index, edge_vec, n_local, None)

    def _energies(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int, mu: Optional[Tensor]) -> Tensor:
        """Site energies; ``mu`` (models with the mu input): a 0-d tensor, or one value
        per local atom ([n_local], several snapshots at different mu in one batch)."""
        if self.n_species == 1 and self.descriptor.columns:
            energy = self._energy_columns(spin, types, edge_index, edge_vec, n_local, mu)
        else:
            energy = self._energy_rows(spin, types, edge_index, edge_vec, n_local, mu)
        if not self.uses_positions:
            # the energy does not depend on positions; keep edge_vec in the graph so
            # that a gradient with respect to it exists (and is zero)
            energy = energy + 0.0 * edge_vec.sum().to(energy.dtype)
        return energy

    def _check_types(self, types: Tensor, n_local: int) -> None:
        t = types[:n_local]
        if n_local > 0 and bool(((t < 0) | (t >= self.n_species)).any()):
            raise RuntimeError("mlspin model: a type index is outside 0.." + str(self.n_species - 1))

    # The mu helpers test hasattr(self, "mu_mean"), which TorchScript decides when it
    # compiles: a model without the mu input has none of the mu buffers, and its
    # TorchScript never compiles the branches that use them.

    def _mu_shift(self, mu: Optional[Tensor], n_local: int, dtype: torch.dtype) -> Optional[Tensor]:
        """mu - mu0 of every local atom ([n_local]), None without the mu input."""
        if mu is None:
            return None
        if hasattr(self, "mu_mean"):
            d = mu.to(dtype) - self.mu_mean
            if d.dim() == 0:
                return d.expand(n_local)
            if d.shape[0] != n_local:
                raise RuntimeError("mlspin model: mu must be a scalar or hold one value per local atom")
            return d
        raise RuntimeError("mlspin model: this model has no mu input")

    def _mu_feature(self, dmu: Tensor) -> Tensor:
        """The standardised mu input (mu - mu0) / mu_scale."""
        if hasattr(self, "mu_scale"):
            return dmu / self.mu_scale
        raise RuntimeError("mlspin model: this model has no mu input")

    def _baseline(self, e: Tensor, s: int, dmu: Optional[Tensor]) -> Tensor:
        """e + the mu baseline of species s: -nbar_s dmu - chi_s dmu^2 / 2."""
        if dmu is None:
            return e
        if hasattr(self, "density_shift"):
            return e - self.density_shift[s] * dmu - 0.5 * self.compressibility[s] * dmu * dmu
        raise RuntimeError("mlspin model: this model has no mu input")

    def _energy_rows(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int, mu: Optional[Tensor] = None) -> Tensor:
        x = self.features(spin, types, edge_index, edge_vec, n_local)
        self._check_types(types, n_local)
        dmu = self._mu_shift(mu, n_local, x.dtype)
        if dmu is not None:
            x = torch.cat([x, self._mu_feature(dmu).unsqueeze(1)], 1)
        t = types[:n_local]
        energy = torch.zeros(n_local, dtype=x.dtype, device=x.device)
        for s, net in enumerate(self.nets):
            if self.n_species == 1:
                # every local atom: no selection of rows
                s_loc = spin[:n_local].to(x.dtype)
                length2 = (s_loc * s_loc).sum(1)
                e = net(x).squeeze(1) * self.energy_scale + self.energy_shift[s]
                energy = self._baseline(e + self.magnitude_coef[s] * (length2 - 1.0), s, dmu)
            else:
                sel = torch.nonzero(t == s).squeeze(1)
                if sel.numel() > 0:
                    s_sel = spin[sel].to(x.dtype)
                    length2 = (s_sel * s_sel).sum(1)
                    e = net(x[sel]).squeeze(1) * self.energy_scale + self.energy_shift[s]
                    e = e + self.magnitude_coef[s] * (length2 - 1.0)
                    e = self._baseline(e, s, None if dmu is None else dmu[sel])
                    energy = energy.index_put((sel,), e)
        return energy

    def _energy_columns(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int, mu: Optional[Tensor] = None) -> Tensor:
        """One species, features x atoms in the descriptor's order (column_order[k]:
        the feature in row k); the same numbers as _energy_rows. The mu input (the
        last column of the first weight matrix) enters the first layer as a bias per atom."""
        dtype = self.feature_mean.dtype
        x = self.descriptor.forward_columns(spin.to(dtype), types, edge_index, edge_vec.to(dtype), n_local)
        self._check_types(types, n_local)
        order = self.descriptor.column_order
        h = (x - self.feature_mean.index_select(0, order).unsqueeze(1)) / self.feature_scale.index_select(0, order).unsqueeze(1)
        s_loc = spin[:n_local].to(dtype)
        length2 = (s_loc * s_loc).sum(1)
        dmu = self._mu_shift(mu, n_local, dtype)
        energy = torch.zeros(n_local, dtype=dtype, device=x.device)
        mu_in = None if dmu is None else self._mu_feature(dmu)
        for net in self.nets:
            first: Optional[Tensor] = order
            last: Optional[Tensor] = mu_in
            for layer in net:
                h = layer.forward_columns(h, first, last)
                first = None
                last = None
            e = h[0] * self.energy_scale + self.energy_shift[0]
            energy = self._baseline(e + self.magnitude_coef[0] * (length2 - 1.0), 0, dmu)
        return energy


class MLSpinMuModel(MLSpinModel):
    """Contract-v2 module: forward(spin, types, edge_index, edge_vec, n_local, mu) ->
    [n_local] local grand potentials omega_i(S; mu); n_i = -d omega_i/d mu.

    ``mu`` is a 0-d tensor (as pair_style mlspin passes it) or, in training, one value
    per local atom (snapshots at different mu in one batch): omega_i depends on mu_i
    only, so one backward pass to the per-atom mu gives every n_i."""

    def __init__(self, config: Dict):
        if not config.get("mu_input", False):
            raise ValueError("MLSpinMuModel needs a configuration with mu_input")
        super().__init__(config)

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int, mu: Tensor) -> Tensor:
        return self._energies(spin, types, edge_index, edge_vec, n_local, mu)


def build_model(config: Dict) -> MLSpinModel:
    """The model of a configuration: MLSpinMuModel with ``mu_input``, else MLSpinModel."""
    return MLSpinMuModel(config) if config.get("mu_input", False) else MLSpinModel(config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
