"""TorchScript export with the contract metadata, and loading model files."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Dict, Tuple

import torch

import math

from . import CONTRACT_MU_VERSION, CONTRACT_VERSION, CONTRACT_VERSIONS, __version__
from .model import MLSpinModel, build_model, count_parameters

META_FILE = "mlspin.json"
# keys pair_style mlspin needs, and the provenance keys this tool always writes
# (optional for the pair style)
REQUIRED_META = {"contract": int, "cutoff": float, "species": list, "units": str, "dtype": str}
PROVENANCE_META = {"description": str, "reference": (dict, str), "metrics": dict}


def make_metadata(
    model: MLSpinModel,
    units: str,
    reference: Dict,
    dataset: Dict,
    metrics: Dict,
    description: str,
    dtype: str = "float64",
) -> Dict:
    """The mlspin.json content: contract keys first, then provenance. A model with the
    mu input gets contract 2, ``inputs: ["mu"]`` and ``mu_range``, the range of mu of
    its training data."""
    config = model.config
    return {
        "contract": CONTRACT_MU_VERSION if model.takes_mu else CONTRACT_VERSION,
        **_mu_metadata(model),
        "cutoff": float(model.cutoff),
        "species": list(config["species"]),
        "units": units,
        "dtype": dtype,
        "description": description,
        "reference": reference,
        "dataset": dataset,
        "metrics": metrics,
        "descriptor": dict(config["descriptor"], **{"n_features": int(model.descriptor.n_features)}),
        **_tables_version(model),
        "positions_used": bool(model.uses_positions),
        "model": {
            "hidden": list(config["hidden"]),
            "activation": config.get("activation", "silu"),
            "parameters": count_parameters(model),
        },
        "created_by": f"mlspin_train {__version__} (torch {torch.__version__})",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _mu_metadata(model: MLSpinModel) -> Dict:
    if not model.takes_mu:
        return {}
    lo, hi = (float(v) for v in model.mu_range)
    return {"inputs": ["mu"], "mu_range": [lo, hi]}


def _tables_version(model: MLSpinModel) -> Dict:
    """``descriptor_tables``: the construction of the lattice descriptor's tables
    (lattice_tables.TABLES_VERSION; files without the key hold version 1)."""
    version = getattr(model.descriptor, "tables_version", None)
    return {} if version is None else {"descriptor_tables": int(version)}


def script_model(model: MLSpinModel, dtype: str = "float64") -> torch.jit.ScriptModule:
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be float64 or float32, got '{dtype}'")
    m = copy.deepcopy(model).cpu().eval()
    if dtype == "float32":
        m = m.float()
    for p in m.parameters():
        p.requires_grad_(False)
    return torch.jit.script(m)


def save_model(model: MLSpinModel, path: str, meta: Dict, dtype: str = "float64") -> torch.jit.ScriptModule:
    """Script and save; meta['dtype'] is set to ``dtype``. Returns the scripted module."""
    meta = dict(meta, dtype=dtype)
    validate_metadata(meta)
    scripted = script_model(model, dtype)
    torch.jit.save(scripted, path, _extra_files={META_FILE: json.dumps(meta, indent=1, default=_json_default)})
    return scripted


def load_model(path: str) -> Tuple[torch.jit.ScriptModule, Dict]:
    """torch.jit.load plus the parsed metadata (ValueError if it is missing or not JSON)."""
    extra = {META_FILE: ""}
    try:
        module = torch.jit.load(path, _extra_files=extra, map_location="cpu")
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"{path}: not a TorchScript model file ({str(e).splitlines()[0]})") from None
    text = extra[META_FILE]
    if not text:
        raise ValueError(f"{path}: the model file has no {META_FILE}")
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: {META_FILE} is not valid JSON ({e})") from None
    return module, meta


def validate_metadata(meta: Dict) -> None:
    """ValueError naming every missing key or wrong type."""
    problems = metadata_problems(meta)
    if problems:
        raise ValueError("model metadata: " + "; ".join(problems))


def metadata_problems(meta: Dict, provenance: bool = True) -> list:
    """Missing keys, wrong types and bad values; ``provenance`` includes the
    optional description/reference/metrics keys."""
    if not isinstance(meta, dict):
        return ["mlspin.json is not a JSON object"]
    problems = []
    keys = dict(REQUIRED_META, **(PROVENANCE_META if provenance else {}))
    for key, kind in keys.items():
        if key not in meta:
            problems.append(f"'{key}' is missing")
            continue
        value = meta[key]
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            problems.append(f"'{key}' has type {type(value).__name__}")
    if problems:
        return problems
    if meta["contract"] not in CONTRACT_VERSIONS:
        problems.append(f"'contract' is {meta['contract']}, this tool knows versions {', '.join(map(str, CONTRACT_VERSIONS))}")
    elif meta["contract"] == CONTRACT_MU_VERSION:
        problems.extend(_mu_problems(meta))
    if not meta["cutoff"] > 0:
        problems.append(f"'cutoff' must be positive, is {meta['cutoff']}")
    if not meta["species"] or not all(_species_name_ok(s) for s in meta["species"]):
        problems.append(f"'species' must be a non-empty list of names without spaces and other than NULL, is {meta['species']}")
    if meta["dtype"] not in ("float64", "float32"):
        problems.append(f"'dtype' must be float64 or float32, is '{meta['dtype']}'")
    return problems


def _mu_problems(meta: Dict) -> list:
    """Contract 2: ``inputs`` is ["mu"], ``mu_range`` is [lo, hi] with finite lo < hi."""
    problems = []
    if meta.get("inputs") != ["mu"]:
        problems.append(f"contract 2 needs 'inputs': ['mu'], has {meta.get('inputs')!r}")
    r = meta.get("mu_range")
    numbers = isinstance(r, list) and len(r) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in r)
    if not numbers or not (math.isfinite(r[0]) and math.isfinite(r[1]) and r[0] < r[1]):
        problems.append(f"contract 2 needs 'mu_range': [lo, hi] with finite lo < hi, has {r!r}")
    return problems


def _species_name_ok(name) -> bool:
    return isinstance(name, str) and bool(name) and name != "NULL" and not any(c.isspace() for c in name)


def _json_default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} into {META_FILE}")


def model_from_checkpoint(path: str) -> Tuple[MLSpinModel, Dict]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)  # our own checkpoint format
    if not isinstance(ckpt, dict) or "config" not in ckpt or "model_state" not in ckpt:
        raise ValueError(f"{path}: not a checkpoint written by mlspin_train")
    model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["model_state"])
    return model, ckpt
