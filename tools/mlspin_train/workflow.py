"""The `train` command as a reusable job: split, prepare, fit, evaluate, export.

Outputs in ``out_dir``:
    model.pt (float64), model_float32.pt (optional), metrics.json,
    parity_validation.png, parity_test.png (with --test), loss_curves.png,
    history.json, checkpoint_best.pt, checkpoint_last.pt
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

import numpy as np
import torch

from .dataset import Dataset
from .evaluation import headline
from .export import make_metadata, save_model
from .graph import GraphCache, prepare
from .model import MLSpinModel, build_model
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


def held_out_sets(sizes: List[int], fraction: float, seed: int) -> List[int]:
    """Indices of the training data sets held out for validation: whole sets in a
    seeded random order, the first always, each further one while the held-out
    snapshots stay within ``fraction`` of all; never every set."""
    if len(sizes) < 2:
        raise ValueError("need at least 2 data sets to hold out whole ones")
    budget = fraction * sum(sizes)
    chosen, held = [], 0
    for k in np.random.default_rng(seed).permutation(len(sizes)).tolist():
        if len(chosen) == len(sizes) - 1:
            break
        if not chosen or held + sizes[k] <= budget:
            chosen.append(k)
            held += sizes[k]
    return sorted(chosen)


def held_out_block(n: int, fraction: float, seed: int) -> range:
    """Snapshot indices of one contiguous block of about ``fraction`` of a single
    data set (at a seeded position): correlated neighbours in time meet the
    training snapshots only at the block's two ends."""
    if n < 2:
        raise ValueError(f"need at least 2 snapshots to split off a validation set, have {n}")
    size = min(n - 1, max(1, int(round(fraction * n))))
    start = int(np.random.default_rng(seed).integers(0, n - size + 1))
    return range(start, start + size)


def validation_split(sets: List[Dataset], fraction: float, seed: int):
    """(training sets, validation sets, description) of the default split: whole
    data sets (trajectories) are held out, so no validation snapshot has a
    correlated neighbour in the training data; of a single data set, one
    contiguous block of snapshots is held out instead."""
    if not 0 < fraction < 1:
        raise ValueError(f"--val-fraction must be between 0 and 1, got {fraction:g}")
    if len(sets) == 1:
        ds = sets[0]
        block = held_out_block(len(ds.frames), fraction, seed)
        inside = set(block)
        train = replace(ds, frames=[f for k, f in enumerate(ds.frames) if k not in inside])
        valid = replace(ds, frames=[ds.frames[k] for k in block])
        how = (f"snapshots {block.start}-{block.stop - 1} of the only data set, {ds.name} "
               f"(one contiguous block, seed {seed}; pass --valid or several data sets to hold out whole trajectories)")
        return [train], [valid], how
    chosen = held_out_sets([len(ds.frames) for ds in sets], fraction, seed)
    train = [ds for k, ds in enumerate(sets) if k not in chosen]
    valid = [sets[k] for k in chosen]
    how = f"whole data sets held out of the training sets: {', '.join(ds.name for ds in valid)} (seed {seed})"
    return train, valid, how


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
    teacher: Optional[MLSpinModel] = None  # labels of the training snapshots (distill.py)
    teacher_info: Dict = field(default_factory=dict)  # its file, sha256 and description
    model: Optional[MLSpinModel] = None
    trainer: Optional[Trainer] = None
    split: Dict = field(default_factory=dict)

    @property
    def hbar(self) -> float:
        return hbar_for(self.units)

    def __post_init__(self):
        self.split = {"validation": "separate data sets (--valid)"}
        if not self.valid_sets:
            self.train_sets, self.valid_sets, how = validation_split(self.train_sets, self.val_fraction, self.settings.seed)
            self.split = {"validation": how}

    def _items(self, config: Dict):
        cutoff = build_model(config).cutoff if self.model is None else self.model.cutoff
        mu_input = bool(config.get("mu_input", False))
        cache = GraphCache(cutoff)
        train = prepare([f for ds in self.train_sets for f in ds.frames], self.type_map, cutoff, cache=cache, mu_input=mu_input)
        weights = [self.set_weights.get(ds.name, 1.0) for ds in self.train_sets for _ in ds.frames]
        for item, w in zip(train, weights):
            if w != 1.0:
                item["weight"] = w
        val = prepare([f for ds in self.valid_sets for f in ds.frames], self.type_map, cutoff, cache=cache, mu_input=mu_input)
        self.split.update(train_snapshots=len(train), validation_snapshots=len(val))
        test = prepare([f for ds in self.test_sets for f in ds.frames], self.type_map, cutoff, cache=cache, mu_input=mu_input)
        return train, val, test

    def _relabel(self) -> None:
        if self.teacher is not None:
            from .distill import relabel

            relabel(self.teacher.to(self.device), self.items[0], self.hbar)

    def _extra(self) -> Dict:
        return {
            "units": self.units,
            "reference": self.reference,
            "description": self.description,
            "dataset": self.dataset_summary(portable=False),  # checkpoint: exact relative names
        }

    def default_description(self) -> str:
        return describe_model(self.model, self.reference)

    def dataset_summary(self, portable: bool = True) -> Dict:
        """Provenance of the data; file names relative to the output folder (see
        Dataset.summary), never absolute."""
        out = self.out_dir
        return {
            "train": [dict(ds.summary(out, portable), loss_weight=self.set_weights.get(ds.name, 1.0)) for ds in self.train_sets],
            "validation": [ds.summary(out, portable) for ds in self.valid_sets],
            "test": [ds.summary(out, portable) for ds in self.test_sets],
            "split": self.split,
            **({"training_labels_from": self.teacher_info} if self.teacher is not None else {}),
            "species_of_lammps_types": {str(t): self.species[s] for t, s in self.type_map.items() if s < len(self.species)},
        }

    def start(self, config: Dict, init: Optional[MLSpinModel] = None) -> None:
        """A new fit of a model of ``config``, or from the model ``init`` (its feature
        statistics kept)."""
        self.model = (init if init is not None else build_model(config)).to(self.device)
        self.items = self._items(self.model.config)
        self._relabel()
        if init is None:
            fit_statistics(self.model, self.items[0], self.hbar)
        self.trainer = Trainer(self.model, self.items[0], self.items[1], self.hbar, self.settings, self.out_dir, self._extra(), self.quiet)

    def resume(self, checkpoint: str) -> None:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        self.model = build_model(ckpt["config"]).to(self.device)
        self.items = self._items(ckpt["config"])
        self._relabel()
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
        lines.append(f"validation data: {self.split['validation']}")
        lines += self._mu_range_notes()
        return "\n".join(lines + [f"model: {os.path.join(self.out_dir, 'model.pt')}"])

    def _mu_range_notes(self) -> List[str]:
        """Models with the mu input: validation or test snapshots whose mu lies outside
        mu_range (the training data's), where the model extrapolates."""
        if not self.model.takes_mu:
            return []
        lo, hi = (float(v) for v in self.model.mu_range)
        notes = [f"mu_range (training data): [{lo:.6g}, {hi:.6g}]"]
        for role, sets in (("validation", self.valid_sets), ("test", self.test_sets)):
            outside = [f for ds in sets for f in ds.frames if f.mu is not None and not lo <= f.mu <= hi]
            if outside:
                n = sum(len(ds.frames) for ds in sets)
                notes.append(f"note: {len(outside)} of {n} {role} snapshots have mu outside mu_range (extrapolation)")
        return notes

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
