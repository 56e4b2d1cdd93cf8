"""Predictions of a model (Python or TorchScript) on prepared snapshots, and
the metrics reported in metrics.json and the model metadata."""

from __future__ import annotations

from typing import Dict, List, Optional

import torch

from .graph import collate
from .physics import parallel, predict, regression_metrics, transverse


def predict_items(model, items: List[Dict], hbar: float, batch_size: int = 8, forces: bool = False) -> Dict[str, torch.Tensor]:
    """Concatenated predictions and references of all snapshots."""
    parts: Dict[str, List[torch.Tensor]] = {}

    def add(name: str, value: Optional[torch.Tensor]):
        if value is not None:
            parts.setdefault(name, []).append(value.detach().cpu())

    device = _device_of(model)
    for start in range(0, len(items), batch_size):
        batch = collate(items[start : start + batch_size]).to(device)
        out = predict(model, batch, hbar, forces=forces)
        n_atoms = batch.atoms_per_frame()
        add("spin", batch.spin)
        add("fm", out.fm)
        add("fm_ref", batch.fm)
        add("energy", out.energy)
        add("energy_ref", batch.energy)
        add("atoms", n_atoms)
        if forces:
            add("forces", out.forces)
            add("forces_ref", batch.force)
        if out.density is not None:
            add("density", out.density)
            add("density_ref", batch.density)
            add("electrons", torch.zeros(batch.n_frames, dtype=out.density.dtype).index_add(0, batch.frame.cpu(), out.density.detach().cpu()))
            if batch.density is not None:
                add("electrons_ref", torch.zeros(batch.n_frames, dtype=batch.density.dtype).index_add(0, batch.frame.cpu(), batch.density.cpu()))
    return {k: torch.cat(v) for k, v in parts.items()}


def _device_of(model) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def metrics(pred: Dict[str, torch.Tensor]) -> Dict[str, Dict[str, float]]:
    """Transverse, full and parallel field components, energies, forces."""
    out: Dict[str, Dict[str, float]] = {}
    spin = pred["spin"]
    if "fm_ref" in pred:
        fm, ref = pred["fm"], pred["fm_ref"]
        out["transverse_field"] = regression_metrics(transverse(fm, spin), transverse(ref, spin))
        out["field"] = regression_metrics(fm, ref)
        out["parallel_field"] = regression_metrics(parallel(fm, spin), parallel(ref, spin))
    if "energy_ref" in pred:
        atoms = pred["atoms"]
        out["energy_per_atom"] = regression_metrics(pred["energy"] / atoms, pred["energy_ref"] / atoms)
        out["energy"] = regression_metrics(pred["energy"], pred["energy_ref"])
    if "forces_ref" in pred and "forces" in pred:
        out["forces"] = regression_metrics(pred["forces"], pred["forces_ref"])
    if "density_ref" in pred and "density" in pred:
        # local electron numbers n_i = -d omega_i/d mu, and their sum per snapshot
        out["density"] = regression_metrics(pred["density"], pred["density_ref"])
        out["electrons_per_atom"] = regression_metrics(pred["electrons"] / pred["atoms"], pred["electrons_ref"] / pred["atoms"])
    out["snapshots"] = {"count": int(pred["atoms"].numel()), "atoms": int(pred["atoms"].sum())}
    return out


def headline(m: Dict[str, Dict[str, float]]) -> str:
    parts = []
    if "transverse_field" in m:
        t = m["transverse_field"]
        parts.append(f"transverse fm: RMSE {t['rmse']:.4g} R2 {t['r2']:.5f}")
        parts.append(f"fm: RMSE {m['field']['rmse']:.4g}")
    if "energy_per_atom" in m:
        parts.append(f"E/atom: RMSE {m['energy_per_atom']['rmse']:.4g}")
    if "forces" in m:
        parts.append(f"forces: RMSE {m['forces']['rmse']:.4g}")
    if "density" in m:
        parts.append(f"n_i: RMSE {m['density']['rmse']:.4g} R2 {m['density']['r2']:.5f}")
    return "; ".join(parts)
