"""What the pair style derives from the model, computed the same way in Python.

With E = sum(forward(...)):
    fm_j = -(|S_j| / hbar) dE/dS_j
    for edge e = (i, j), g_e = dE/d(edge_vec_e):  f_i += g_e,  f_j -= g_e
    virial W = -sum_e edge_vec_e (x) g_e
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import torch
from torch import Tensor

# LAMMPS force->hplanck per unit style (update.cpp); hbar = hplanck / (2 pi) in every
# unit style, units lj included (1/(2 pi) there), as in LAMMPS' SPIN package and
# src/core/units.cpp
HPLANCK = {
    "lj": 1.0,
    "real": 95.306976368,
    "metal": 4.135667403e-3,
    "si": 6.62606896e-34,
    "cgs": 6.62606896e-27,
    "electron": 0.1519829846,
    "micro": 6.62606896e-13,
    "nano": 6.62606896e-4,
}


def hbar_for(units: str) -> float:
    if units not in HPLANCK:
        raise ValueError(f"unknown LAMMPS unit style '{units}'")
    return HPLANCK[units] / (2.0 * torch.pi)


@dataclass
class Prediction:
    site_energy: Tensor  # [N]
    energy: Tensor  # [B] per frame
    fm: Tensor  # [N, 3]
    dE_dS: Tensor  # [N, 3]
    forces: Optional[Tensor] = None  # [N, 3]
    virial: Optional[Tensor] = None  # [B, 3, 3]
    density: Optional[Tensor] = None  # [N] n_i = -d omega_i/d mu (models with the mu input)


def model_takes_mu(model) -> bool:
    """Whether forward() has the mu argument of contract 2 (Python or TorchScript)."""
    if isinstance(getattr(model, "takes_mu", None), bool):
        return model.takes_mu
    try:
        return len(model.forward.schema.arguments) == 7  # self + 6
    except AttributeError:
        import inspect

        return "mu" in inspect.signature(model.forward).parameters


def predict(model, batch, hbar: float, forces: bool = False, create_graph: bool = False) -> Prediction:
    """Energies, fm (and forces, virial) of a Batch by one forward and one backward pass.

    A model with the mu input (contract 2) gets each atom's mu (``batch.mu``, [N]):
    its site energies are local grand potentials omega_i(S; mu_i), and the same
    backward pass gives the densities n_i = -d omega_i/d mu_i (omega_i depends on
    mu_i only), which equal -d omega_i/d mu since all atoms of a snapshot share mu."""
    spin = batch.spin.detach().clone().requires_grad_(True)
    edge_vec = batch.edge_vec.detach().clone().requires_grad_(forces)
    n = batch.n_atoms
    mu = None
    if model_takes_mu(model):
        if batch.mu is None:
            raise ValueError("the model takes the chemical potential mu as an input, but the snapshots carry no mu")
        mu = batch.mu.detach().clone().requires_grad_(True)
        site = model(spin, batch.types, batch.edge_index, edge_vec, n, mu)
    else:
        site = model(spin, batch.types, batch.edge_index, edge_vec, n)
    energy = torch.zeros(batch.n_frames, dtype=site.dtype, device=site.device).index_add(0, batch.frame, site)
    inputs = [spin] + ([edge_vec] if forces else []) + ([mu] if mu is not None else [])
    grads = torch.autograd.grad(site.sum(), inputs, create_graph=create_graph, allow_unused=True)
    de_ds = grads[0] if grads[0] is not None else torch.zeros_like(spin)
    magnitude = torch.linalg.norm(batch.spin, dim=1, keepdim=True).to(de_ds.dtype)
    out = Prediction(site, energy, -(magnitude / hbar) * de_ds, de_ds)
    if forces:
        g = grads[1] if grads[1] is not None else torch.zeros_like(edge_vec)
        out.forces = edge_forces(g, batch.edge_index, n)
        out.virial = edge_virial(g, edge_vec.detach(), batch.edge_index, batch.frame, batch.n_frames)
    if mu is not None:
        g = grads[-1] if grads[-1] is not None else torch.zeros_like(mu)
        out.density = -g
    return out


def edge_forces(g: Tensor, edge_index: Tensor, n: int) -> Tensor:
    f = torch.zeros(n, 3, dtype=g.dtype, device=g.device)
    f = f.index_add(0, edge_index[0], g)
    return f.index_add(0, edge_index[1], -g)


def edge_virial(g: Tensor, vec: Tensor, edge_index: Tensor, frame: Tensor, n_frames: int) -> Tensor:
    w = -(vec.unsqueeze(2) * g.unsqueeze(1))  # [E, 3, 3]
    out = torch.zeros(n_frames, 3, 3, dtype=g.dtype, device=g.device)
    return out.index_add(0, frame[edge_index[0]], w)


def transverse(v: Tensor, spin: Tensor) -> Tensor:
    """Component of v perpendicular to the spin direction."""
    u = spin / torch.linalg.norm(spin, dim=1, keepdim=True)
    return v - (v * u).sum(1, keepdim=True) * u


def parallel(v: Tensor, spin: Tensor) -> Tensor:
    u = spin / torch.linalg.norm(spin, dim=1, keepdim=True)
    return (v * u).sum(1)


def regression_metrics(pred: Tensor, ref: Tensor) -> Dict[str, float]:
    """RMSE, MAE, max error and R^2 = 1 - SS_res / SS_tot over all entries."""
    p = pred.detach().reshape(-1).double()
    r = ref.detach().reshape(-1).double()
    err = p - r
    ss_tot = float(((r - r.mean()) ** 2).sum())
    ss_res = float((err * err).sum())
    return {
        "rmse": float(torch.sqrt((err * err).mean())),
        "mae": float(err.abs().mean()),
        "max": float(err.abs().max()) if err.numel() else 0.0,
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "ref_std": float(r.std()) if r.numel() > 1 else 0.0,
        "count": int(r.numel()),
    }
