"""Model files from model files: the Python model of a file, one member of a merged
committee, another precision.

A committee file (committee.merge) holds the members side by side in one wide network:
first layers stacked, hidden layers block-diagonal, the output layer the mean of the
member outputs. Member k is read back exactly, except the constant of its output layer,
which merge() averaged: that constant shifts every site energy by the same amount (no
field, force or energy difference changes); it is set so that the member's mean site
energy equals the committee's over a few random configurations (``offset_probe``).
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import os
from typing import Dict, List, Tuple

import numpy as np
import torch

from .model import MLSpinModel, build_model, count_parameters


def model_from_file(module: torch.jit.ScriptModule, meta: Dict) -> MLSpinModel:
    """The Python model of a model file (mlspin_train files only), holding the file's
    own state dict, descriptor tables included."""
    if "descriptor" not in meta or "model" not in meta:
        raise ValueError("the model file was not written by mlspin_train (no 'descriptor'/'model' in its metadata)")
    config = {
        "descriptor": {k: v for k, v in meta["descriptor"].items() if k != "n_features"},
        "species": meta["species"],
        "hidden": meta["model"]["hidden"],
        "activation": meta["model"]["activation"],
    }
    if meta.get("contract") == 2:
        config["mu_input"] = True
    model = build_model(config)
    keys = set(model.state_dict())
    model.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in module.state_dict().items() if k in keys})
    return model


def committee_size(meta: Dict) -> int:
    return len(meta.get("committee", {}).get("members", [])) or 1


def _linear_layers(net: torch.nn.Sequential) -> List[torch.nn.Linear]:
    return [layer for layer in net if isinstance(layer, torch.nn.Linear)]


def committee_member(merged: MLSpinModel, n_members: int, k: int) -> MLSpinModel:
    """Member k (0-based) of a model merged from n_members fits (committee.merge)."""
    if not 0 <= k < n_members:
        raise ValueError(f"member {k + 1} asked for, the committee has {n_members}")
    hidden = merged.config["hidden"]
    if any(h % n_members for h in hidden):
        raise ValueError(f"hidden sizes {hidden} are not {n_members} members side by side")
    config = copy.deepcopy(merged.config)
    config["hidden"] = [h // n_members for h in hidden]
    member = MLSpinModel(config)
    member.load_state_dict({k_: v for k_, v in merged.state_dict().items() if not k_.startswith("nets.")}, strict=False)
    with torch.no_grad():
        for wide, narrow in zip(merged.nets, member.nets):
            layers = list(zip(_linear_layers(wide), _linear_layers(narrow)))
            for depth, (src, dst) in enumerate(layers):
                rows = slice(k * dst.out_features, (k + 1) * dst.out_features)
                cols = slice(k * dst.in_features, (k + 1) * dst.in_features)
                if depth == 0:
                    dst.weight.copy_(src.weight[rows])
                    dst.bias.copy_(src.bias[rows])
                elif depth == len(layers) - 1:
                    dst.weight.copy_(src.weight[:, cols] * n_members)  # merge() took the mean
                    dst.bias.copy_(src.bias)  # the mean of the members' constants (see offset_probe)
                else:
                    dst.weight.copy_(src.weight[rows, cols])
                    dst.bias.copy_(src.bias[rows])
    return member


def _probe_batches(model: MLSpinModel, n: int = 4, size: int = 12, seed: int = 11):
    from .graph import Graph, build_graph  # noqa: F401
    from .lattice import make_lattice

    lattice = model.config["descriptor"].get("lattice", "square")
    pos, box = make_lattice(lattice if lattice in ("square", "triangular") else "square", size, size)
    box.cell[2, 2], box.origin[2] = 4 * model.cutoff, -2 * model.cutoff  # no periodic images along z
    graph = build_graph(pos, box, model.cutoff)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        s = rng.normal(size=(len(pos), 3))
        yield (torch.tensor(s / np.linalg.norm(s, axis=1, keepdims=True)), torch.zeros(len(pos), dtype=torch.int64),
               torch.as_tensor(graph.edge_index), torch.as_tensor(graph.edge_vec), len(pos))


def offset_probe(member: MLSpinModel, merged: MLSpinModel) -> float:
    """Make the member's mean site energy that of the committee on random spins
    (returns the shift applied, in energy units)."""
    with torch.no_grad():
        diff = [float((merged(*b) - member(*b)).mean()) for b in _probe_batches(merged)]
        shift = float(np.mean(diff))
        last = _linear_layers(member.nets[0])[-1]
        last.bias += shift / float(member.energy_scale)
    return shift


def sha256_of(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def converted_metadata(meta: Dict, model: MLSpinModel, source: str, member: int, n_members: int, dtype: str,
                       shift: float) -> Dict:
    """The source's metadata, with what changed and where it came from."""
    out = copy.deepcopy(meta)
    out["dtype"] = dtype
    out["model"] = dict(meta["model"], hidden=list(model.config["hidden"]), parameters=count_parameters(model))
    derived = {"source": os.path.basename(source), "source_sha256": sha256_of(source), "dtype": dtype,
               "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if member is not None:
        info = meta["committee"]["members"][member]
        derived.update(member=member + 1, members=n_members, energy_shift_probe=shift)
        out["metrics"] = dict(info.get("metrics", {}))
        out["committee_of_source"] = out.pop("committee")
        out["description"] = f"member {member + 1} of {n_members} of: " + meta.get("description", "")
    out["derived_from"] = derived
    return out


def convert(source: str, output: str, dtype: str = "float64", member: int = None) -> Tuple[MLSpinModel, Dict]:
    """Write ``output`` from ``source``: member ``member`` (0-based) of its committee or
    the whole model, in ``dtype``."""
    from .export import load_model, save_model

    module, meta = load_model(source)
    model = model_from_file(module, meta)
    n_members = committee_size(meta)
    shift = 0.0
    if member is not None:
        merged = model
        model = committee_member(merged, n_members, member)
        shift = offset_probe(model, merged)
    out_meta = converted_metadata(meta, model, source, member, n_members, dtype, shift)
    save_model(model, output, out_meta, dtype)
    return model, out_meta
