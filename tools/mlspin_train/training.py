"""Training loop: losses on the transverse field, the full field, energies,
(optionally) forces and, for models with the mu input, local electron numbers
n_i = -d omega_i/d mu; validation, learning-rate schedule, early stopping and
checkpoints.

Each loss term is a mean squared error divided by the variance of its reference
in the training set, so the terms are dimensionless (about 1 - R^2) and the
weights say directly how much each matters.

Snapshots may carry a loss weight (``item["weight"]``, from ``train
--set-weight``): a snapshot of weight w counts as w copies of it, in the mean
squared errors and in the reference variances alike.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

import torch
from tqdm import tqdm

from .evaluation import metrics, predict_items
from .graph import collate
from .model import MLSpinModel
from .physics import predict, transverse


@dataclass
class TrainSettings:
    epochs: int = 300
    batch_size: int = 4
    lr: float = 2e-3
    lr_min: float = 1e-5
    lr_factor: float = 0.5
    lr_patience: int = 10
    schedule: str = "plateau"
    patience: int = 40
    weight_decay: float = 0.0
    w_transverse: float = 1.0
    w_field: float = 0.1
    w_energy: float = 0.1
    w_force: float = 0.0
    w_density: float = 1.0  # models with the mu input and data with densities only
    seed: int = 0

    def __post_init__(self):
        if self.schedule not in ("plateau", "cosine", "constant"):
            raise ValueError(f"schedule must be plateau, cosine or constant, got '{self.schedule}'")
        for name in ("w_transverse", "w_field", "w_energy", "w_force", "w_density"):
            if getattr(self, name) < 0:
                raise ValueError(f"loss weight {name} must be >= 0")
        if self.w_transverse + self.w_field + self.w_energy + self.w_force + self.w_density <= 0:
            raise ValueError("all loss weights are zero")


def frame_weights(items: List[Dict]) -> torch.Tensor:
    """Loss weight of each snapshot (1 unless set)."""
    return torch.tensor([float(it.get("weight", 1.0)) for it in items], dtype=torch.float64)


def reference_scales(items: List[Dict]) -> Dict[str, float]:
    """Weighted variances of the reference quantities (denominators of the loss
    terms) and the mean weights of atoms and snapshots (which normalise the
    weighted mean squared errors, so unit weights give plain means)."""
    batch = collate(items)
    w_frame = frame_weights(items)
    w_atom = w_frame[batch.frame]
    out = {}
    if batch.fm is not None:
        out["transverse"] = _variance(transverse(batch.fm, batch.spin), w_atom)
        out["field"] = _variance(batch.fm, w_atom)
    if batch.energy is not None:
        out["energy"] = _variance(batch.energy / batch.atoms_per_frame(), w_frame)
    if batch.force is not None:
        out["force"] = _variance(batch.force, w_atom)
    if batch.density is not None:
        out["density"] = _variance(batch.density, w_atom)
    out["atom_weight"] = float(w_atom.mean())
    out["frame_weight"] = float(w_frame.mean())
    return out


def _variance(x: torch.Tensor, weight: torch.Tensor) -> float:
    """Variance of x (rows weighted by weight) with a floor that keeps the loss
    finite for constant references."""
    x = x.double().reshape(x.shape[0], -1)
    p = weight.double().reshape(-1, 1).expand_as(x)
    p = p / p.sum()
    mean = (p * x).sum()
    var = float((p * (x - mean) ** 2).sum())
    return max(var, 1e-12 * (1.0 + float((p * x * x).sum())))


def _weighted_mse(diff: torch.Tensor, weight: torch.Tensor, mean_weight: float) -> torch.Tensor:
    """Mean over rows of weight * |diff|^2 / components, divided by the training
    set's mean weight."""
    sq = (diff * diff).reshape(diff.shape[0], -1).mean(1)
    return (weight * sq).mean() / mean_weight


@torch.no_grad()
def fit_statistics(model: MLSpinModel, items: List[Dict], hbar: float, batch_size: int = 16) -> None:
    """Feature means and scales, per-species energy shifts and mean fields along
    the spins, from training data."""
    device = model.feature_mean.device
    # running sums, not all features at once (hundreds of thousands of centers
    # times up to thousands of features would not fit in memory)
    count, shift, total, total_sq = 0, None, 0.0, 0.0
    for start in range(0, len(items), batch_size):
        b = collate(items[start : start + batch_size]).to(device)
        x = model.descriptor(b.spin, b.types, b.edge_index, b.edge_vec, b.n_atoms)
        if shift is None:
            shift = x[0].clone()  # sums about a typical value: no cancellation in the variance
        x = x - shift
        total = total + x.sum(0)
        total_sq = total_sq + (x * x).sum(0)
        count += x.shape[0]
    mean_shifted = total / count
    mean = mean_shifted + shift
    var = (total_sq / count - mean_shifted * mean_shifted).clamp_min(0.0) * count / max(count - 1, 1)
    std = torch.sqrt(var) if count > 1 else torch.ones_like(mean)
    floor = 1e-8 * (1.0 + mean.abs())
    model.feature_mean.copy_(mean)
    model.feature_scale.copy_(torch.where(std > floor, std, torch.ones_like(std)))
    baseline = None
    if model.takes_mu:
        baseline = _fit_mu_statistics(model, items)
    model.energy_shift.copy_(_energy_shift(items, model.n_species, baseline))
    model.magnitude_coef.copy_(_magnitude_coef(items, model.n_species, hbar))
    model.energy_scale.fill_(_energy_scale(items, hbar))


def _energy_scale(items: List[Dict], hbar: float) -> float:
    """Scale of the MLP output: hbar times the RMS transverse reference field, so
    that a freshly initialised network predicts fields of the right size."""
    if any(it.get("fm") is None for it in items):
        return 1.0
    spin = torch.cat([it["spin"] for it in items]).double()
    fm = transverse(torch.cat([it["fm"] for it in items]).double(), spin)
    rms = float(torch.sqrt((fm * fm).sum(1).mean()))
    return hbar * rms if rms > 0 else 1.0


def _magnitude_coef(items: List[Dict], n_species: int, hbar: float) -> torch.Tensor:
    """c_s with -dE/d|S_i| = -2 c_s |S_i| equal to the mean reference field along S_i."""
    coef = torch.zeros(n_species, dtype=torch.float64)
    if any(it.get("fm") is None for it in items):
        return coef
    spin = torch.cat([it["spin"] for it in items]).double()
    fm = torch.cat([it["fm"] for it in items]).double()
    types = torch.cat([it["types"] for it in items])
    length = torch.linalg.norm(spin, dim=1)
    # fm = -(|S|/hbar) dE/dS  ->  dE/d|S| = -hbar fm.S^ / |S|
    de_dlen = -hbar * (fm * spin).sum(1) / (length * length)
    for s in range(n_species):
        sel = types == s
        if bool(sel.any()):
            coef[s] = (de_dlen[sel] / (2.0 * length[sel])).mean()
    return coef


def _fit_mu_statistics(model: MLSpinModel, items: List[Dict]) -> torch.Tensor:
    """Models with the mu input: mu_range, the standardisation mu0 and mu_scale of
    the mu input, and the baseline n_i = nbar_s + chi_s (mu - mu0) of each species
    (least squares on the reference densities, chi_s >= 0; nbar_s alone when the data
    span too little mu; zero without densities). Returns the baseline grand potential
    of each snapshot, sum_i -nbar_s dmu - chi_s dmu^2 / 2, for the energy shifts."""
    if any(it.get("mu") is None for it in items):
        raise ValueError("a model with the mu input needs the chemical potential of every training snapshot")
    mu_frame = torch.stack([it["mu"][0] for it in items]).double()
    lo, hi = float(mu_frame.min()), float(mu_frame.max())
    if not hi > lo:
        raise ValueError(
            f"all training snapshots have mu = {lo:g}: a model with the mu input needs data at more than one "
            "chemical potential (grand-canonical runs at several mu, or canonical runs whose mu varies)"
        )
    mu0 = float(mu_frame.mean())
    scale = float(mu_frame.std()) if len(items) > 1 else 1.0
    model.mu_range.copy_(torch.tensor([lo, hi], dtype=torch.float64))
    model.mu_mean.fill_(mu0)
    model.mu_scale.fill_(scale if scale > 0 else 1.0)
    nbar = torch.zeros(model.n_species, dtype=torch.float64)
    chi = torch.zeros(model.n_species, dtype=torch.float64)
    if all(it.get("density") is not None for it in items):
        types = torch.cat([it["types"] for it in items])
        dmu = torch.cat([it["mu"] for it in items]).double() - mu0
        dens = torch.cat([it["density"] for it in items]).double()
        for s in range(model.n_species):
            sel = types == s
            if not bool(sel.any()):
                continue
            x, y = dmu[sel], dens[sel]
            nbar[s] = y.mean()
            spread = float(((x - x.mean()) ** 2).mean())
            if spread > 1e-12 * (1.0 + float((x * x).mean())):
                slope = float(((x - x.mean()) * (y - y.mean())).mean()) / spread
                chi[s] = max(slope, 0.0)
                nbar[s] = y.mean() - chi[s] * x.mean()
    model.density_shift.copy_(nbar)
    model.compressibility.copy_(chi)
    base = []
    for it in items:
        dmu = it["mu"].double() - mu0
        t = it["types"]
        base.append((-nbar[t] * dmu - 0.5 * chi[t] * dmu * dmu).sum())
    return torch.stack(base)


def _energy_shift(items: List[Dict], n_species: int, baseline: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Least-squares energy per atom of each species (zero without energies), after
    subtracting ``baseline`` (one value per snapshot) from the energies."""
    if any(it.get("energy") is None for it in items):
        return torch.zeros(n_species, dtype=torch.float64)
    counts = torch.stack([torch.bincount(it["types"], minlength=n_species).double() for it in items])
    energy = torch.cat([it["energy"] for it in items]).double()
    if baseline is not None:
        energy = energy - baseline
    solution = torch.linalg.lstsq(counts, energy.unsqueeze(1), driver="gelsd").solution
    return solution.squeeze(1)


class Trainer:
    def __init__(
        self,
        model: MLSpinModel,
        train_items: List[Dict],
        val_items: List[Dict],
        hbar: float,
        settings: TrainSettings,
        out_dir: Optional[str] = None,
        extra: Optional[Dict] = None,
        quiet: bool = False,
    ):
        if not train_items:
            raise ValueError("no training snapshots")
        if not val_items:
            raise ValueError("no validation snapshots")
        self.model = model
        self.device = model.feature_mean.device
        self.train_items = train_items
        self.val_items = val_items
        self.hbar = hbar
        self.settings = settings
        self.out_dir = out_dir
        self.extra = extra or {}
        self.quiet = quiet
        self.scales = reference_scales(train_items)
        self.use_forces = settings.w_force > 0 and "force" in self.scales
        self.use_energy = settings.w_energy > 0 and "energy" in self.scales
        self.use_density = settings.w_density > 0 and "density" in self.scales and model.takes_mu
        self.optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        self.scheduler = self._scheduler()
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.epoch = 0
        self.history: List[Dict] = []
        self.best_val = math.inf
        self.best_state = copy.deepcopy(model.state_dict())
        self.best_epoch = 0

    def _scheduler(self):
        s = self.settings
        if s.schedule == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=s.lr_factor, patience=s.lr_patience, min_lr=s.lr_min
            )
        if s.schedule == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(1, s.epochs), eta_min=s.lr_min)
        return None

    # ------------------------------------------------------------------ losses

    def loss(self, items: List[Dict], create_graph: bool, weighted: bool = True) -> Dict[str, torch.Tensor]:
        """Loss terms of a batch; unweighted for validation, so that the
        validation loss does not depend on the training set's weights."""
        batch = collate(items).to(self.device)
        out = predict(self.model, batch, self.hbar, forces=self.use_forces, create_graph=create_graph)
        s, scales = self.settings, self.scales
        w_frame = frame_weights(items) if weighted else torch.ones(len(items))
        w_frame = w_frame.to(device=self.device, dtype=batch.spin.dtype)
        w_atom = w_frame[batch.frame]
        per_atom, per_frame = (scales["atom_weight"], scales["frame_weight"]) if weighted else (1.0, 1.0)
        terms = {}
        if batch.fm is not None:
            dt = transverse(out.fm, batch.spin) - transverse(batch.fm, batch.spin)
            terms["transverse"] = _weighted_mse(dt, w_atom, per_atom) / scales["transverse"]
            terms["field"] = _weighted_mse(out.fm - batch.fm, w_atom, per_atom) / scales["field"]
        if self.use_energy:
            de = (out.energy - batch.energy) / batch.atoms_per_frame()
            terms["energy"] = _weighted_mse(de, w_frame, per_frame) / scales["energy"]
        if self.use_forces:
            terms["force"] = _weighted_mse(out.forces - batch.force, w_atom, per_atom) / scales["force"]
        if self.use_density and batch.density is not None:
            terms["density"] = _weighted_mse(out.density - batch.density, w_atom, per_atom) / scales["density"]
        weights = {"transverse": s.w_transverse, "field": s.w_field, "energy": s.w_energy, "force": s.w_force, "density": s.w_density}
        terms["total"] = sum(weights[k] * v for k, v in terms.items())
        return terms

    def train_epoch(self) -> float:
        self.model.train()
        order = torch.randperm(len(self.train_items), generator=self.generator).tolist()
        bs = self.settings.batch_size
        total, count = 0.0, 0
        for start in range(0, len(order), bs):
            items = [self.train_items[k] for k in order[start : start + bs]]
            self.optimizer.zero_grad()
            loss = self.loss(items, create_graph=True)["total"]
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * len(items)
            count += len(items)
        return total / count

    def validate(self) -> Dict[str, float]:
        self.model.eval()
        bs = max(self.settings.batch_size, 8)
        sums: Dict[str, float] = {}
        for start in range(0, len(self.val_items), bs):
            items = self.val_items[start : start + bs]
            for k, v in self.loss(items, create_graph=False, weighted=False).items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(items)
        val = {k: v / len(self.val_items) for k, v in sums.items()}
        val["transverse_rmse"] = math.sqrt(val.get("transverse", 0.0) * self.scales.get("transverse", 0.0))
        return val

    # ------------------------------------------------------------------ loop

    def fit(self) -> List[Dict]:
        s = self.settings
        bar = tqdm(total=s.epochs, initial=self.epoch, desc="training", unit="epoch", disable=self.quiet, dynamic_ncols=True)
        since_best = self.epoch - self.best_epoch
        while self.epoch < s.epochs:
            t0 = time.time()
            train_loss = self.train_epoch()
            val = self.validate()
            self.epoch += 1
            lr = self.optimizer.param_groups[0]["lr"]
            self._step_scheduler(val["total"])
            record = {
                "epoch": self.epoch,
                "train_loss": train_loss,
                "val_loss": val["total"],
                "val_transverse_rmse": val["transverse_rmse"],
                "val_terms": {k: v for k, v in val.items() if k not in ("total", "transverse_rmse")},
                "lr": lr,
                "seconds": time.time() - t0,
            }
            self.history.append(record)
            if val["total"] < self.best_val:
                self.best_val = val["total"]
                self.best_state = copy.deepcopy(self.model.state_dict())
                self.best_epoch = self.epoch
                since_best = 0
                self.save_checkpoint("checkpoint_best.pt")
            else:
                since_best += 1
            self.save_checkpoint("checkpoint_last.pt")
            bar.update(1)
            bar.set_postfix(loss=f"{train_loss:.3e}", val=f"{val['total']:.3e}", rmse_perp=f"{val['transverse_rmse']:.3e}", lr=f"{lr:.1e}")
            if since_best >= s.patience:
                if not self.quiet:
                    tqdm.write(f"early stopping: no improvement of the validation loss for {s.patience} epochs")
                break
        bar.close()
        self.model.load_state_dict(self.best_state)
        return self.history

    def _step_scheduler(self, val_loss: float) -> None:
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(val_loss)
        elif self.scheduler is not None:
            self.scheduler.step()

    # ------------------------------------------------------------------ checkpoints

    def state(self) -> Dict:
        return {
            "config": self.model.config,
            "model_state": self.model.state_dict(),
            "best_state": self.best_state,
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generator_state": self.generator.get_state(),
            "epoch": self.epoch,
            "history": self.history,
            "settings": asdict(self.settings),
            "extra": self.extra,
        }

    def save_checkpoint(self, name: str) -> None:
        if self.out_dir is None:
            return
        path = os.path.join(self.out_dir, name)
        tmp = path + ".tmp"
        torch.save(self.state(), tmp)
        os.replace(tmp, path)

    def restore(self, ckpt: Dict) -> None:
        """Continue from a checkpoint written by `save_checkpoint`."""
        self.model.load_state_dict(ckpt["model_state"])
        self.optimizer.load_state_dict(ckpt["optimizer_state"])
        if self.scheduler is not None and ckpt.get("scheduler_state") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler_state"])
        self.generator.set_state(ckpt["generator_state"])
        self.best_state = ckpt["best_state"]
        self.best_val = ckpt["best_val"]
        self.best_epoch = ckpt["best_epoch"]
        self.epoch = ckpt["epoch"]
        self.history = ckpt["history"]

    def evaluate(self, items: List[Dict]) -> Dict:
        pred = predict_items(self.model, items, self.hbar, forces=self.use_forces)
        return metrics(pred), pred
