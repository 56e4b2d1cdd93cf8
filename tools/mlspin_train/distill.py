"""Training against a teacher model (knowledge distillation) and from the weights of a
model file.

``mlspin-train train --teacher T.pt`` replaces the energies and fields of the training
snapshots by those of the model file T.pt (typically a committee: one network of
committee accuracy is cheaper to run; Hinton, Vinyals & Dean, arXiv:1503.02531). The
training sets then only provide spin configurations, so any number of them can be made
without the reference solver; validation and test sets keep their own labels (the
reference Hamiltonian's), so early stopping and the reported metrics measure the error
against the reference, not against the teacher.

``--init M.pt [--init-member K]`` starts from the network, descriptor and feature
statistics of a model file (member K of a committee file), e.g. to fine-tune a committee
member on its committee's labels.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import torch

from .convert import committee_member, committee_size, model_from_file, offset_probe
from .graph import collate
from .model import MLSpinModel
from .physics import predict


def load_file_model(path: str) -> Tuple[MLSpinModel, Dict]:
    """The Python model (float64) of a model file written by mlspin_train, and its metadata."""
    from .export import load_model

    module, meta = load_model(path)
    return model_from_file(module, meta), meta


def initial_model(path: str, member: Optional[int]) -> Tuple[MLSpinModel, Dict]:
    """The model a training starts from: the file's model, or its member ``member``
    (1-based) with the constant offset matched to the committee (convert.offset_probe)."""
    model, meta = load_file_model(path)
    if member is None:
        return model, meta
    n = committee_size(meta)
    if n == 1:
        raise ValueError(f"--init-member {member}: {path} is not a committee file")
    part = committee_member(model, n, member - 1)
    offset_probe(part, model)
    return part, meta


def relabel(teacher: MLSpinModel, items: List[Dict], hbar: float, batch_size: int = 8) -> None:
    """Replace fm and energy of prepared snapshots (graph.prepare) by the teacher's.
    Forces are dropped (the lattice models have none)."""
    teacher.eval()
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        batch = collate(chunk)
        out = predict(teacher, batch, hbar)
        rows = 0
        for b, it in enumerate(chunk):
            n = it["spin"].shape[0]
            it["fm"] = out.fm[rows : rows + n].detach().to(it["spin"].dtype).clone()
            it["energy"] = out.energy[b : b + 1].detach().to(it["spin"].dtype).clone()
            it["force"] = None
            rows += n
