"""Model card (Markdown) of a model file: what it models, data, held-out
metrics, file size and measured cost per spin."""

from __future__ import annotations

import os
import platform
import time
from typing import Dict, List

import numpy as np
import torch

from .check import synthetic_frame, test_mu
from .dataset import planar_box
from .export import load_model
from .graph import Batch, build_graph
from .physics import hbar_for, predict
from .lattice import make_lattice


def cost_per_spin(module, meta: Dict, size: int, repeats: int = 3) -> Dict:
    """Seconds per spin of one forward + backward pass (energies and fields) on a
    size x size patch of the model's lattice (continuous models: the check cell);
    contract 2: at the middle of mu_range, the densities n_i included (same backward pass)."""
    desc = meta.get("descriptor") or {}
    if desc.get("kind") == "lattice":
        positions, box = make_lattice(desc["lattice"], size, size, float(desc["a"]))
        box = planar_box(box, 2)
    else:
        frame, dim = synthetic_frame(meta)
        positions, box = frame.positions, planar_box(frame.box, dim)
    n = len(positions)
    dtype = torch.float64 if meta["dtype"] == "float64" else torch.float32
    g = build_graph(positions, box, float(meta["cutoff"]))
    spins = np.random.default_rng(0).normal(size=(n, 3))
    spins /= np.linalg.norm(spins, axis=1, keepdims=True)
    batch = Batch(torch.tensor(spins, dtype=dtype), torch.zeros(n, dtype=torch.int64), torch.tensor(g.edge_index),
                  torch.tensor(g.edge_vec, dtype=dtype), torch.zeros(n, dtype=torch.int64), 1)
    mu = test_mu(meta)
    if mu is not None:
        batch.mu = torch.full((n,), mu, dtype=dtype)
    hbar = hbar_for(meta["units"])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(module, batch, hbar, forces=bool(meta.get("positions_used", True)))
        times.append(time.perf_counter() - start)
    return {"atoms": n, "edges": int(g.edge_index.shape[1]), "seconds": min(times), "per_spin_us": 1e6 * min(times) / n,
            "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine()}


def _metric_rows(metrics: Dict) -> List[str]:
    rows = ["| snapshots | transverse fm RMSE | transverse fm R^2 | fm RMSE | energy/atom RMSE | energy/atom R^2 |", "|---|---|---|---|---|---|"]
    for name in ("test", "validation", "train"):
        m = metrics.get(name)
        if not m or "transverse_field" not in m:
            continue
        t, f = m["transverse_field"], m["field"]
        e = m.get("energy_per_atom", {})
        count = m.get("snapshots", {}).get("count", "?")
        rows.append(
            f"| {name} ({count}) | {t['rmse']:.4g} | {t['r2']:.5f} | {f['rmse']:.4g} | "
            f"{e.get('rmse', float('nan')):.3g} | {e.get('r2', float('nan')):.4f} |"
        )
    return rows


def _density_rows(metrics: Dict) -> List[str]:
    """Models with the mu input: local electron numbers n_i and N_e per site."""
    rows = []
    for name in ("test", "validation", "train"):
        m = metrics.get(name) or {}
        if "density" in m:
            d, e = m["density"], m.get("electrons_per_atom", {})
            rows.append(f"| {name} | {d['rmse']:.4g} | {d['r2']:.5f} | {e.get('rmse', float('nan')):.3g} |")
    if not rows:
        return []
    return ["", "| snapshots | n_i RMSE | n_i R^2 | N_e/N RMSE |", "|---|---|---|---|"] + rows


def _data_rows(dataset: Dict) -> List[str]:
    rows = []
    for role in ("train", "validation", "test"):
        for ds in dataset.get(role, []):
            rows.append(f"- {role}: `{ds['name']}`: {ds['snapshots']} snapshots of {', '.join(map(str, ds['atoms_per_snapshot']))} spins")
    split = dataset.get("split", {})
    if split:
        rows.append(f"- validation: {split.get('validation', '')}; {split.get('train_snapshots', '?')} training and "
                    f"{split.get('validation_snapshots', '?')} validation snapshots")
    return rows


def model_card(path: str, timing_size: int = 64) -> str:
    module, meta = load_model(path)
    ref = meta.get("reference", {})
    ref_text = ref.get("text", "") if isinstance(ref, dict) else str(ref)
    desc = meta.get("descriptor", {})
    lines = [f"# {os.path.basename(path)}", "", meta.get("description", ""), ""]
    lines += ["## What it models", "", f"- reference: `{ref_text}`"]
    if isinstance(ref, dict) and ref.get("parameters"):
        lines += [f"  - {k} = {v}" for k, v in ref["parameters"].items()]
    lines += [
        f"- units `{meta['units']}`, species {meta['species']}, cutoff {meta['cutoff']:.6g}, {meta['dtype']}",
        f"- descriptor: {', '.join(f'{k} {v}' for k, v in desc.items())}",
        f"- network: {meta.get('model', {})}",
        "",
        "## Data",
        "",
    ]
    if meta.get("contract") == 2:
        ens = ref.get("ensembles", {}) if isinstance(ref, dict) else {}
        lines.insert(lines.index("## Data") - 1, f"- chemical potential input (contract 2): mu_range {meta['mu_range']}"
                     + (f"; data sets at {', '.join(f'{k}: {v}' for k, v in ens.items())}" if ens else ""))
    lines += _data_rows(meta.get("dataset", {})) or ["- (no data set provenance in the file)"]
    lines += ["", "## Metrics", ""] + _metric_rows(meta.get("metrics", {})) + _density_rows(meta.get("metrics", {}))
    cost = cost_per_spin(module, meta, timing_size)
    lines += [
        "",
        "## Size and cost",
        "",
        f"- file size: {os.path.getsize(path)} bytes",
        f"- one evaluation of energies and fields (forward + backward, Python/TorchScript) on {cost['atoms']} spins: "
        f"{cost['seconds']:.3g} s, {cost['per_spin_us']:.3g} us per spin ({cost['threads']} thread(s), {cost['cpu']})",
        f"- created by {meta.get('created_by', '?')} on {meta.get('created', '?')}",
        "",
    ]
    return "\n".join(lines)
