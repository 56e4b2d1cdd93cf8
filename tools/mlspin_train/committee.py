"""A committee of fits as one model file: the mean energy of K networks on one descriptor.

Fits of the same data that differ in their seed (initial weights, batch order)
make errors that are partly their own; the mean of their predictions keeps the
shared part only. Because the members share the descriptor and the data
normalisation (feature means and scales, energy shift and scale, all fixed by
the training data), the mean of K multilayer perceptrons is itself one
perceptron: each layer holds the members' layers as diagonal blocks (the first
one stacks them, since all read the same features) and the last one averages
them. So a committee is an ordinary contract-v1 model for pair_style mlspin,
whose network costs K times one member's while the descriptor is computed once.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Sequence, Tuple

import torch

from .model import MLSpinModel

# buffers fixed by the training data; members must agree on them exactly
SHARED_BUFFERS = ("feature_mean", "feature_scale", "energy_shift", "energy_scale", "magnitude_coef")


def load_member(path: str) -> Tuple[MLSpinModel, Dict]:
    """The best validated state of a training checkpoint (as `export` takes it), and
    the checkpoint (its ``extra`` holds the provenance and metrics of the fit)."""
    from .export import model_from_checkpoint

    model, ckpt = model_from_checkpoint(path)
    if "best_state" in ckpt:
        model.load_state_dict(ckpt["best_state"])
    return model, ckpt


def check_compatible(members: Sequence[MLSpinModel]) -> None:
    """Same descriptor, species, activation, layer sizes and data normalisation."""
    if len(members) < 2:
        raise ValueError("a committee needs at least two members")
    first = members[0]
    if any(m.takes_mu for m in members):
        raise ValueError("committees of models with the mu input (contract 2) are not supported yet")
    for k, m in enumerate(members[1:], start=2):
        for key in ("descriptor", "species", "hidden", "activation"):
            if m.config.get(key) != first.config.get(key):
                raise ValueError(f"member {k} differs from member 1 in '{key}': {m.config.get(key)} against {first.config.get(key)}")
        for name in SHARED_BUFFERS:
            if not torch.equal(getattr(m, name), getattr(first, name)):
                raise ValueError(
                    f"member {k} differs from member 1 in {name}: the members must be fitted to the same training data"
                )
        _check_same_tables(first.descriptor, m.descriptor, k)


# canonical tables built on different machines agree to rounding (about 1e-15)
TABLE_TOLERANCE = 1e-12


def _check_same_tables(first: torch.nn.Module, other: torch.nn.Module, k: int) -> None:
    """The member's descriptor tables equal the first member's: integer tables
    exactly, coefficients to TABLE_TOLERANCE. Tables of different construction
    versions (lattice_tables.TABLES_VERSION) are refused as such."""
    versions = [int(getattr(d, "tables_version", 1)) for d in (first, other)]
    if versions[0] != versions[1]:
        raise ValueError(
            f"member {k} has descriptor tables of version {versions[1]}, member 1 of version {versions[0]} "
            "(version 1: irrep bases from an eigensolver, before mlspin_train built canonical tables); "
            "fit all members with one version of mlspin_train"
        )
    theirs = other.state_dict()
    for name, value in first.state_dict().items():
        mine = theirs[name]
        same = mine.shape == value.shape and (
            torch.allclose(mine, value, rtol=0.0, atol=TABLE_TOLERANCE) if value.is_floating_point() else torch.equal(mine, value)
        )
        if not same:
            hint = (
                "version 1 tables come from an eigensolver whose result depends on the BLAS library and threads: "
                "fit such members with the same --threads on one machine"
                if versions[0] == 1
                else "canonical tables of one configuration agree on every machine to rounding, so a checkpoint was altered"
            )
            raise ValueError(f"member {k} differs from member 1 in the descriptor tables ({name}): {hint}")


def _linear_layers(net: torch.nn.Sequential) -> List[torch.nn.Linear]:
    return [layer for layer in net if isinstance(layer, torch.nn.Linear)]


def merge(members: Sequence[MLSpinModel]) -> MLSpinModel:
    """One model whose site energies are the mean of the members' (to rounding)."""
    check_compatible(members)
    k = len(members)
    config = copy.deepcopy(members[0].config)
    config["hidden"] = [k * h for h in members[0].config["hidden"]]
    merged = MLSpinModel(config)
    # the members' descriptor tables (version 1 tables cannot be rebuilt)
    merged.descriptor.load_state_dict(members[0].descriptor.state_dict())
    for name in SHARED_BUFFERS:
        getattr(merged, name).copy_(getattr(members[0], name))
    with torch.no_grad():
        for s, net in enumerate(merged.nets):
            layers = list(zip(*[_linear_layers(m.nets[s]) for m in members]))
            targets = _linear_layers(net)
            for depth, (target, parts) in enumerate(zip(targets, layers)):
                weights = [p.weight for p in parts]
                if depth == 0:
                    target.weight.copy_(torch.cat(weights, 0))  # every member reads all features
                    target.bias.copy_(torch.cat([p.bias for p in parts]))
                elif depth == len(targets) - 1:
                    target.weight.copy_(torch.cat(weights, 1) / k)  # the mean of the member outputs
                    target.bias.copy_(torch.stack([p.bias for p in parts]).mean(0))
                else:
                    target.weight.copy_(torch.block_diag(*weights))
                    target.bias.copy_(torch.cat([p.bias for p in parts]))
    return merged


def committee_metadata(paths: Sequence[str], member_metrics: Sequence[Dict]) -> Dict:
    """Provenance of the members, written into the model metadata."""
    return {"members": [{"checkpoint": p, "metrics": m} for p, m in zip(paths, member_metrics)]}
