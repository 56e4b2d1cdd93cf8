#!/usr/bin/python3
"""Rewrite the metadata (mlspin.json) of a shipped model file so that it names its
data files and committee checkpoints relative to the model's folder instead of by
the absolute paths of the machine that trained it. The sha256 recorded at training
are kept; nothing else changes.

Only the archive's entry extra/mlspin.json changes: every other entry (code,
tensors, debug information) is copied byte for byte. Before the file is replaced,
the script checks that, that torch loads it, that every parameter and buffer is
bitwise the same and that energies and fields of a random configuration are
bitwise the same.

    /usr/bin/python3 potentials/common/portable_metadata.py potentials/*/model.pt
    /usr/bin/python3 potentials/common/portable_metadata.py --written-in NAME/fit NAME/model.pt
    /usr/bin/python3 potentials/common/portable_metadata.py --test-metrics EVAL/metrics.json NAME/model.pt
"""

import argparse
import json
import os
import re
import struct
import sys
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from mlspin_train.check import synthetic_frame  # noqa: E402
from mlspin_train.dataset import planar_box, portable_name, relocate_provenance  # noqa: E402
from mlspin_train.export import META_FILE, load_model  # noqa: E402
from mlspin_train.graph import collate, prepare  # noqa: E402
from mlspin_train.physics import hbar_for, predict  # noqa: E402

NOTE = ("file names made relative to the model's folder after training (the metadata of the "
        "released file named them by absolute paths); sha256 as recorded at training")


def trained_folder(meta, model_dir):
    """The folder the released model had on the training machine: the absolute path
    up to potentials/<name> in its recorded file names."""
    name = os.path.basename(os.path.abspath(model_dir))
    for role in ("train", "validation", "test"):
        for entry in meta.get("dataset", {}).get(role, []):
            for f in entry.get("files", []):
                match = re.match(rf"(/.*/potentials/{re.escape(name)})/", f)
                if match:
                    return match.group(1)
    return None


def portable(meta, model_dir, written_in=None):
    """Metadata naming files relative to ``model_dir``: from the absolute names of
    the released files, or from names relative to ``written_in``, the folder the
    file was written to (e.g. fit/ before regenerate.sh copied it up)."""
    if written_in is None:
        old = trained_folder(meta, model_dir)
        if old is None:
            return meta
        base, target, note = old, old, NOTE  # the model's folder on the training machine
    else:
        base, target, note = written_in, model_dir, f"file names relative to the model's folder (written in {portable_name(written_in, model_dir)})"
    meta = dict(meta)
    meta["dataset"] = dict(relocate_provenance(meta["dataset"], base, target), note=note)
    if "committee" in meta:
        members = [dict(m, checkpoint=portable_name(os.path.join(base, m["checkpoint"]), target)) for m in meta["committee"]["members"]]
        meta["committee"] = dict(meta["committee"], members=members)
    return meta


def evaluate(module, meta, seed=3):
    frame, dimension = synthetic_frame(meta, seed=seed)
    frame.box = planar_box(frame.box, dimension)
    rng = np.random.default_rng(seed)
    s = rng.normal(size=frame.spin_dir.shape)
    frame.spin_dir = s / np.linalg.norm(s, axis=1, keepdims=True)
    batch = collate(prepare([frame], {1: 0}, float(meta["cutoff"])))
    out = predict(module, batch, hbar_for(meta["units"]))
    return out.site_energy.detach(), out.fm.detach()


def same_bits(a, b):
    """Equal dtype, shape and bytes (NaN and -0.0 included)."""
    a, b = a.detach().contiguous(), b.detach().contiguous()
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return a.numpy().tobytes() == b.numpy().tobytes()


def write_archive(src_path, dst_path, meta):
    """Copy the TorchScript archive entry by entry (same names, order, compression
    and content), replacing only the metadata; each entry's data starts at a
    multiple of 64 bytes, as in the archives torch writes."""
    with zipfile.ZipFile(src_path) as src, zipfile.ZipFile(dst_path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.split("/", 1)[-1] == "extra/" + META_FILE:
                data = json.dumps(meta, indent=1).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
            start = dst.fp.tell() + 30 + len(info.filename.encode()) + 4  # local header + extra field header
            pad = -start % 64
            entry.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # field id "FB", as torch's writer
            dst.writestr(entry, data)


def with_test_metrics(meta, evaluation):
    """metrics.test from an `mlspin-train evaluate` output (held-out sets evaluated once
    after training, e.g. a blind set), with the sets it names (files named as in the
    potentials' layout: data/NAME.dump beside the model)."""
    def portable_file(name):
        return name if "/" in name else "data/" + name

    sets = [{"name": d["name"], "files": [portable_file(f) for f in d["files"]],
             "sha256": {portable_file(f): h for f, h in d["sha256"].items()}, "snapshots": d["snapshots"]}
            for d in evaluation["data"]]
    out = dict(meta, metrics=dict(meta.get("metrics", {}), test=evaluation["metrics"]))
    out["dataset"] = dict(meta.get("dataset", {}), test=sets)
    return out


def rewrite(path, written_in=None, test_metrics=None):
    module, meta = load_model(path)
    new_meta = portable(meta, os.path.dirname(path) or ".", written_in)
    if test_metrics:
        with open(test_metrics) as fh:
            new_meta = with_test_metrics(new_meta, json.load(fh))
    if new_meta == meta:
        print(f"{path}: unchanged")
        return
    tmp = path + ".tmp"
    write_archive(path, tmp, new_meta)
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(tmp) as b:
        assert a.namelist() == b.namelist()
        changed = [n for n in a.namelist() if a.read(n) != b.read(n)]
    assert [n.split("/", 1)[-1] for n in changed] == ["extra/" + META_FILE], changed
    new_module, reread = load_model(tmp)
    assert reread == new_meta
    old_state, new_state = module.state_dict(), new_module.state_dict()
    assert list(old_state) == list(new_state), "parameter and buffer names differ"
    differ = [k for k in old_state if not same_bits(old_state[k], new_state[k])]
    assert not differ, f"tensors differ: {differ}"
    (e0, f0), (e1, f1) = evaluate(module, meta), evaluate(new_module, new_meta)
    assert same_bits(e0, e1) and same_bits(f0, f1), "energies or fields differ"
    os.replace(tmp, path)
    print(f"{path}: only {META_FILE} changed; {len(old_state)} tensors and the energies and fields of "
          f"{f0.shape[0]} random spins bitwise equal; names relative to {os.path.dirname(path) or '.'}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+")
    p.add_argument("--written-in", help="the folder the model files were written to, if they were moved since "
                   "(default: rewrite absolute names of released files)")
    p.add_argument("--test-metrics", help="metrics.json of `mlspin-train evaluate` on held-out sets evaluated once "
                   "after training: becomes metrics.test (and dataset.test) of the metadata")
    args = p.parse_args()
    for path in args.models:
        rewrite(path, args.written_in, args.test_metrics)


if __name__ == "__main__":
    main()
