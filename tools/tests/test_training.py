"""End-to-end training on a small generated data set, through the CLI."""

import json
import os

import pytest
import torch

from mlspin_train.cli import main
from mlspin_train.export import load_model

FAST = ["--radius", "2", "--hidden", "32,32", "--batch-size", "4", "--threads", "1", "--quiet", "--seed", "0"]


def read_json(path):
    with open(path) as fh:
        return json.load(fh)


def test_training_reaches_the_stated_accuracy(tmp_path, toy_square):
    """Threshold: on 13 held-out snapshots of the 6x6 toy s-d model (J = 6 t,
    filling 0.485), the transverse field components reach R^2 > 0.9 (an
    untrained model gives R^2 < 0.5) within 40 epochs (about 20 s; other data
    seeds give 0.94-0.96)."""
    out = str(tmp_path / "fit")
    args = ["--epochs", "40", "--val-fraction", "0.2", "--float32"] + FAST + ["--radius", "3"]
    assert main(["train", toy_square, "--out", out] + args) == 0
    for name in ("model.pt", "model_float32.pt", "metrics.json", "history.json", "loss_curves.png", "parity_validation.png",
                 "checkpoint_best.pt", "checkpoint_last.pt"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    metrics = read_json(os.path.join(out, "metrics.json"))
    val = metrics["validation"]["transverse_field"]
    assert val["count"] == 13 * 36 * 3
    assert val["r2"] > 0.9, val
    history = read_json(os.path.join(out, "history.json"))
    assert history[0]["val_transverse_rmse"] > 1.5 * val["rmse"]
    module, meta = load_model(os.path.join(out, "model.pt"))
    assert meta["reference"]["parameters"]["J"] == 6.0
    assert meta["metrics"]["validation"]["transverse_field"]["r2"] == pytest.approx(val["r2"])
    assert meta["dataset"]["split"]["validation_snapshots"] == 13
    assert meta["units"] == "lj" and meta["species"] == ["site"]


def test_untrained_model_is_poor(tmp_path, toy_square):
    """The baseline the threshold above is measured against."""
    out = str(tmp_path / "zero")
    assert main(["train", toy_square, "--out", out, "--epochs", "1", "--lr", "1e-9", "--val-fraction", "0.2"] + FAST) == 0
    assert read_json(os.path.join(out, "metrics.json"))["validation"]["transverse_field"]["r2"] < 0.5


def test_evaluate_on_a_data_set(tmp_path, toy_square, capsys):
    out = str(tmp_path / "fit")
    main(["train", toy_square, "--out", out, "--epochs", "2", "--val-fraction", "0.2"] + FAST)
    capsys.readouterr()
    assert main(["evaluate", os.path.join(out, "model.pt"), toy_square, "--out", str(tmp_path / "ev"), "--threads", "1"]) == 0
    assert "64 snapshots: transverse fm: RMSE" in capsys.readouterr().out
    ev = read_json(str(tmp_path / "ev" / "metrics.json"))["metrics"]
    assert ev["snapshots"] == {"count": 64, "atoms": 64 * 36}
    assert os.path.getsize(str(tmp_path / "ev" / "parity.png")) > 0
    # re-export the best checkpoint in single precision
    f32 = str(tmp_path / "f32.pt")
    assert main(["export", os.path.join(out, "checkpoint_best.pt"), f32, "--float32", "--description", "re-exported"]) == 0
    module, meta = load_model(f32)
    assert meta["dtype"] == "float32" and meta["description"] == "re-exported"
    assert meta["reference"]["style"] == "toy-sd" and "validation" in meta["metrics"]


def test_same_seed_same_result_and_resume_continues(tmp_path, toy_square):
    runs = []
    for k in range(2):
        out = str(tmp_path / f"run{k}")
        main(["train", toy_square, "--out", out, "--epochs", "2", "--val-fraction", "0.2"] + FAST)
        runs.append(read_json(os.path.join(out, "history.json")))
    assert [h["val_loss"] for h in runs[0]] == [h["val_loss"] for h in runs[1]]
    out = str(tmp_path / "run0")
    main(["train", toy_square, "--out", out, "--epochs", "4", "--val-fraction", "0.2", "--resume", os.path.join(out, "checkpoint_last.pt")] + FAST)
    history = read_json(os.path.join(out, "history.json"))
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[:2] == runs[0]
    # the last checkpoint is the end of epoch 4 and carries the final metrics
    ckpt = torch.load(os.path.join(out, "checkpoint_last.pt"), weights_only=False)
    assert ckpt["epoch"] == 4 and "validation" in ckpt["extra"]["metrics"]
    # an uninterrupted 4-epoch run gives the same numbers
    main(["train", toy_square, "--out", str(tmp_path / "straight"), "--epochs", "4", "--val-fraction", "0.2"] + FAST)
    straight = read_json(str(tmp_path / "straight" / "history.json"))
    assert [h["val_loss"] for h in straight] == pytest.approx([h["val_loss"] for h in history], rel=1e-12)


def test_feature_statistics_are_the_mean_and_spread_of_all_features(toy_square):
    """fit_statistics accumulates sums batch by batch (all features at once need
    too much memory for large data sets); the result is the plain mean and sample
    standard deviation over every center of every snapshot."""
    from conftest import lattice_model
    from mlspin_train.cli import _load_sets
    from mlspin_train.graph import collate, prepare
    from mlspin_train.training import fit_statistics

    model = lattice_model("square", radius=2.0, cross_radius=1.5)
    items = prepare(_load_sets([toy_square], {})[0].frames[:20], {1: 0}, model.cutoff)
    fit_statistics(model, items, hbar=1.0, batch_size=3)
    b = collate(items)
    x = model.descriptor(b.spin, b.types, b.edge_index, b.edge_vec, b.n_atoms).detach()
    assert torch.allclose(model.feature_mean, x.mean(0), rtol=1e-12, atol=1e-12)
    varying = x.std(0) > 1e-6
    assert varying.sum() > 10
    assert torch.allclose(model.feature_scale[varying], x.std(0)[varying], rtol=1e-9)


def _toy_items(toy_square, n):
    from mlspin_train.cli import _load_sets
    from mlspin_train.graph import prepare

    return prepare(_load_sets([toy_square], {})[0].frames[:n], {1: 0}, 2.0)


def test_a_snapshot_of_weight_two_counts_as_two_copies(toy_square):
    """--set-weight: the weighted loss and reference variances equal those of a
    training set in which the weighted snapshots are repeated."""
    from conftest import lattice_model
    from mlspin_train.training import Trainer, TrainSettings, fit_statistics

    items = _toy_items(toy_square, 6)
    heavy = [dict(it, weight=2.0) for it in items[:2]]
    weighted, repeated = heavy + items[2:], items[:2] + items[:2] + items[2:]
    model = lattice_model("square", radius=2.0)
    fit_statistics(model, items, hbar=1.0)
    t_w = Trainer(model, weighted, items, 1.0, TrainSettings())
    t_r = Trainer(model, repeated, items, 1.0, TrainSettings())
    for key in ("transverse", "field", "energy"):
        assert t_w.scales[key] == pytest.approx(t_r.scales[key], rel=1e-12)
    assert t_w.scales["transverse"] != pytest.approx(Trainer(model, items, items, 1.0, TrainSettings()).scales["transverse"], rel=1e-6)
    loss_w = t_w.loss(weighted, create_graph=False)
    loss_r = t_r.loss(repeated, create_graph=False)
    for key in ("transverse", "field", "energy", "total"):
        assert float(loss_w[key]) == pytest.approx(float(loss_r[key]), rel=1e-12), key
    # the validation loss is the plain one, whatever the training weights
    assert t_w.validate()["transverse"] == pytest.approx(t_r.validate()["transverse"] * t_r.scales["transverse"] / t_w.scales["transverse"], rel=1e-12)


def test_set_weights_from_patterns(toy_square):
    from mlspin_train.cli import _load_sets, set_weights
    from mlspin_train.dataset import DataError

    sets = _load_sets([toy_square], {})
    assert set_weights(sets, None) == {"square": 1.0}
    assert set_weights(sets, ["sq*=5", "square=2.5"]) == {"square": 2.5}
    for bad, message in (("cube*=2", "no training set matches 'cube\\*'"), ("square=x", "PATTERN=WEIGHT"),
                         ("square=-1", "PATTERN=WEIGHT"), ("square=nan", "PATTERN=WEIGHT"), ("5", "PATTERN=WEIGHT"),
                         ("square=0", "every training set weight 0")):
        with pytest.raises(DataError, match=message):
            set_weights(sets, [bad])


def test_set_weight_is_recorded_in_the_model(tmp_path, toy_square):
    out = str(tmp_path / "fit")
    assert main(["train", toy_square, "--out", out, "--epochs", "1", "--val-fraction", "0.2", "--set-weight", "squ*=3"] + FAST) == 0
    module, meta = load_model(os.path.join(out, "model.pt"))
    assert [ds["loss_weight"] for ds in meta["dataset"]["train"]] == [3.0]


# ----------------------------------------------------------------------------
# default validation split: whole data sets, not snapshots


def _sets(sizes):
    from mlspin_train.dataset import Dataset

    return [Dataset(f"set{k}", [(f"set{k}", i) for i in range(n)]) for k, n in enumerate(sizes)]


def test_default_validation_holds_out_whole_data_sets():
    """No validation snapshot comes from a data set that also trains; at least one
    set is held out, never all, and beyond the first no more than the fraction."""
    from mlspin_train.workflow import validation_split

    sizes = [30, 12, 50, 8, 20, 40, 25, 15, 33, 17]
    choices = set()
    for seed in range(20):
        train, valid, how = validation_split(_sets(sizes), 0.1, seed)
        train_names, valid_names = {ds.name for ds in train}, {ds.name for ds in valid}
        assert not train_names & valid_names and len(train_names | valid_names) == len(sizes)
        assert not {f for ds in valid for f in ds.frames} & {f for ds in train for f in ds.frames}
        held = sum(len(ds.frames) for ds in valid)
        assert 1 <= len(valid) < len(sizes)
        assert len(valid) == 1 or held <= 0.1 * sum(sizes)
        assert all(name in how for name in valid_names) and "whole data sets" in how
        again = validation_split(_sets(sizes), 0.1, seed)[1]
        assert [ds.name for ds in again] == [ds.name for ds in valid]  # deterministic for a seed
        choices.add(tuple(sorted(valid_names)))
    assert len(choices) > 3  # the seed chooses
    # two sets: one trains, one validates
    train, valid, _ = validation_split(_sets([5, 7]), 0.1, 0)
    assert len(train) == len(valid) == 1


def test_a_single_data_set_is_split_into_contiguous_blocks():
    from mlspin_train.workflow import validation_split

    starts = set()
    for seed in range(10):
        (train,), (valid,), how = validation_split(_sets([64]), 0.2, seed)
        index = [i for _, i in valid.frames]
        assert len(index) == 13 and index == list(range(index[0], index[0] + 13))
        assert sorted(train.frames + valid.frames) == _sets([64])[0].frames
        assert f"snapshots {index[0]}-{index[-1]}" in how
        assert [i for _, i in validation_split(_sets([64]), 0.2, seed)[1][0].frames] == index
        starts.add(index[0])
    assert len(starts) > 3
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="val-fraction"):
            validation_split(_sets([64]), bad, 0)


def test_trained_model_names_its_data_relative_to_its_folder_with_sha256(tmp_path, toy_square, monkeypatch):
    """Metadata name data files relative to the model's folder (../data/run0.dump:
    beside it; square.dump, two folders up: by base name), each with the sha256 of
    the file; the validation set is a whole training set; export renames them for
    its own folder (square.dump is beside copy.pt's folder: ../toy0/square.dump)."""
    import hashlib

    from mlspin_train import toy_sd

    monkeypatch.chdir(tmp_path)
    os.mkdir("data")
    for k in range(3):
        toy_sd.generate(f"data/run{k}", "square", 4, toy_sd.SDModel(J=6.0, filling=0.485, kT=0.02), n_random=4, seed=10 + k)
    assert main(["train", "data/run0", "data/run1", "--test", "data/run2", toy_square, "--out", "fit", "--epochs", "1"] + FAST) == 0
    module, meta = load_model("fit/model.pt")
    text = json.dumps(meta)
    assert str(tmp_path) not in text and os.path.dirname(toy_square) not in text

    def sha256(path):
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    ds = meta["dataset"]
    (train,), (valid,) = ds["train"], ds["validation"]
    assert {train["name"], valid["name"]} == {"run0", "run1"}
    assert "whole data sets" in ds["split"]["validation"] and valid["name"] in ds["split"]["validation"]
    for entry, where in ((train, "data"), (valid, "data"), (ds["test"][0], "data"), (ds["test"][1], None)):
        stem = entry["name"]
        expected = [f"../data/{stem}.dump", f"../data/{stem}.energy"] if where else [f"{stem}.dump", f"{stem}.energy"]
        assert entry["files"] == expected
        real = [os.path.join("fit", f) for f in expected] if where else [toy_square + ".dump", toy_square + ".energy"]
        assert entry["sha256"] == {name: sha256(path) for name, path in zip(expected, real)}
    # the checkpoint keeps exact relative names; export names them from its own folder
    assert main(["export", "fit/checkpoint_best.pt", "copy.pt"]) == 0
    copied = load_model("copy.pt")[1]["dataset"]
    assert copied["train"][0]["files"] == [f"data/{train['name']}.dump", f"data/{train['name']}.energy"]
    assert copied["train"][0]["sha256"] == {f"data/{train['name']}.dump": train["sha256"][f"../data/{train['name']}.dump"],
                                            f"data/{train['name']}.energy": train["sha256"][f"../data/{train['name']}.energy"]}
    beside = [os.path.relpath(toy_square + ext, tmp_path) for ext in (".dump", ".energy")]  # ../<folder>/square.*
    assert beside[0].startswith("../") and copied["test"][1]["files"] == beside
