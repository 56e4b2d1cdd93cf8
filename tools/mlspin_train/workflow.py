"""The `train` command as a reusable job: split, prepare, fit, evaluate, export.

Outputs in ``out_dir``:
    model.pt (float64), model_float32.pt (optional), metrics.json,
    parity_validation.png, parity_test.png (with --test), loss_curves.png,
    history.json, checkpoint_best.pt, checkpoint_last.pt
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import torch

from .dataset import Dataset
from .evaluation import headline
from .export import make_metadata, save_model
from .graph import GraphCache, prepare
from .model import MLSpinModel
from .physics import hbar_for
from .plots import loss_figure, parity_figure
from .training import Trainer, TrainSettings, fit_statistics


def describe_model(model: MLSpinModel, reference, members: int = 1) -> str:
    """One line for the metadata: descriptor, network and reference Hamiltonian."""
    d = model.config["descriptor"]
    if d["kind"] == "lattice":
        what = f"lattice-symmetric model ({d['lattice']} lattice, radius {d['radius']:g} a"
    else:
        what = f"continuous model (cutoff {d['cutoff']:g}, lmax {d['lmax']}"
    hidden = [h // members for h in model.config["hidden"]]
    net = f"MLP {'-'.join(map(str, hidden))}" + (f", mean of {members} fits" if members > 1 else "")
    what += f", {model.descriptor.n_features} features, {net})"
    ref = reference.get("text") if isinstance(reference, dict) else reference
    return what + (f" of {ref}" if ref else "")


def split_indices(n: int, fraction: float, seed: int):
    """(train, validation) indices of a random split; at least one of each."""
    if n < 2:
        raise ValueError(f"need at least 2 snapshots to split off a validation set, have {n}")
    n_val = min(n - 1, max(1, int(round(fraction * n))))
    order = np.random.default_rng(seed).permutation(n)
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


@dataclass
class TrainJob:
    out_dir: str
    train_sets: List[Dataset]
    valid_sets: List[Dataset]
    test_sets: List[Dataset]
    units: str
    reference: Dict
    species: List[str]
    type_map: Dict[int, int]
    settings: TrainSettings
    val_fraction: float = 0.1
    description: str = ""
    float32: bool = False
    quiet: bool = False
    device: str = "cpu"
    set_weights: Dict[str, float] = field(default_factory=dict)  # loss weight per training set name
    model: Optional[MLSpinModel] = None
    trainer: Optional[Trainer] = None
    split: Dict = field(default_factory=dict)

    @property
    def hbar(self) -> float:
        return hbar_for(self.units)

    def _items(self, config: Dict):
        cutoff = MLSpinModel(config).cutoff if self.model is None else self.model.cutoff
        cache = GraphCache(cutoff)
        train = prepare([f for ds in self.train_sets for f in ds.frames], self.type_map, cutoff, cache=cache)
        weights = [self.set_weights.get(ds.name, 1.0) for ds in self.train_sets for _ in ds.frames]
        for item, w in zip(train, weights):
            if w != 1.0:
                item["weight"] = w
        if self.valid_sets:
            val = prepare([f for ds in self.valid_sets for f in ds.frames], self.type_map, cutoff, cache=cache)
            self.split = {"validation": "separate data sets", "train_snapshots": len(train), "validation_snapshots": len(val)}
        else:
            tr_idx, va_idx = split_indices(len(train), self.val_fraction, self.settings.seed)
            val = [train[k] for k in va_idx]
            train = [train[k] for k in tr_idx]
            self.split = {"validation": f"random {self.val_fraction:g} of the snapshots (seed {self.settings.seed})", "train_snapshots": len(train), "validation_snapshots": len(val), "validation_indices": va_idx}
        test = prepare([f for ds in self.test_sets for f in ds.frames], self.type_map, cutoff, cache=cache)
        return train, val, test

    def _extra(self) -> Dict:
        return {
            "units": self.units,
            "reference": self.reference,
            "description": self.description,
            "dataset": self.dataset_summary(),
        }

    def default_description(self) -> str:
        return describe_model(self.model, self.reference)

    def dataset_summary(self) -> Dict:
        return {
            "train": [dict(ds.summary(), loss_weight=self.set_weights.get(ds.name, 1.0)) for ds in self.train_sets],
            "validation": [ds.summary() for ds in self.valid_sets],
            "test": [ds.summary() for ds in self.test_sets],
            "split": self.split,
            "species_of_lammps_types": {str(t): self.species[s] for t, s in self.type_map.items() if s < len(self.species)},
        }

    def start(self, config: Dict) -> None:
        self.model = MLSpinModel(config).to(self.device)
        self.items = self._items(config)
        fit_statistics(self.model, self.items[0], self.hbar)
        self.trainer = Trainer(self.model, self.items[0], self.items[1], self.hbar, self.settings, self.out_dir, self._extra(), self.quiet)

    def resume(self, checkpoint: str) -> None:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        self.model = MLSpinModel(ckpt["config"]).to(self.device)
        self.items = self._items(ckpt["config"])
        self.trainer = Trainer(self.model, self.items[0], self.items[1], self.hbar, self.settings, self.out_dir, self._extra(), self.quiet)
        self.trainer.restore(ckpt)

    def run(self) -> str:
        trainer = self.trainer
        history = trainer.fit()
        train_items, val_items, test_items = self.items
        results = {"validation": trainer.evaluate(val_items), "train": trainer.evaluate(train_items)}
        if test_items:
            results["test"] = trainer.evaluate(test_items)
        metrics = {k: v[0] for k, v in results.items()}
        metrics["training"] = {
            "epochs": trainer.epoch,
            "best_epoch": trainer.best_epoch,
            "best_validation_loss": trainer.best_val,
            "settings": trainer.settings.__dict__,
            "loss_normalization": trainer.scales,
            "seconds": float(sum(h["seconds"] for h in history)),
        }
        self._write_outputs(results, metrics, history)
        lines = [f"{name}: {headline(m)}" for name, m in metrics.items() if name != "training"]
        return "\n".join(lines + [f"model: {os.path.join(self.out_dir, 'model.pt')}"])

    def _write_outputs(self, results: Dict, metrics: Dict, history: List[Dict]) -> None:
        out = self.out_dir
        with open(os.path.join(out, "metrics.json"), "w") as fh:
            json.dump(metrics, fh, indent=1)
        with open(os.path.join(out, "history.json"), "w") as fh:
            json.dump(history, fh, indent=1)
        loss_figure(history, os.path.join(out, "loss_curves.png"))
        for name in ("validation", "test"):
            if name in results:
                parity_figure(results[name][1], results[name][0], os.path.join(out, f"parity_{name}.png"), title=f"{name} snapshots")
        meta_metrics = {k: metrics[k] for k in ("validation", "test", "train") if k in metrics}
        meta = make_metadata(self.model, self.units, self.reference, self.dataset_summary(), meta_metrics, self.description or self.default_description())
        save_model(self.model, os.path.join(out, "model.pt"), meta, "float64")
        if self.float32:
            save_model(self.model, os.path.join(out, "model_float32.pt"), meta, "float32")
        # the checkpoints carry the final metrics too, for `export`
        self.trainer.extra["metrics"] = meta_metrics
        self.trainer.save_checkpoint("checkpoint_best.pt")  # the model holds the best state now
        last = os.path.join(out, "checkpoint_last.pt")
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        ckpt["extra"]["metrics"] = meta_metrics
        torch.save(ckpt, last)
