"""mlspin-train train --teacher / --init: training against a model file's labels
(distillation) and from a model file's weights."""

import copy
import json

import numpy as np
import pytest
import torch

from mlspin_train.cli import main
from mlspin_train.convert import committee_member
from mlspin_train.dataset import read_dataset, write_dataset
from mlspin_train.export import load_model
from mlspin_train.physics import predict
from mlspin_train.runtime import blas_state, restore_blas_state
from test_convert import batch_of, committee_file

FAST = ["--radius", "2", "--hidden", "32,32", "--batch-size", "4", "--threads", "1", "--quiet", "--seed", "0"]


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, toy_square):
    """A model of the toy s-d data (validation R^2 about 0.9). Module scope: outside the
    per-test restoring of thread counts (conftest), so it restores them itself."""
    out = str(tmp_path_factory.mktemp("teacher") / "fit")
    threads, blas = torch.get_num_threads(), blas_state()
    try:
        assert main(["train", toy_square, "--out", out, "--epochs", "30", "--val-fraction", "0.2"] + FAST) == 0
    finally:
        torch.set_num_threads(threads)
        restore_blas_state(blas)
    return out + "/model.pt"


def noise_labelled_copy(toy_square, name):
    """The toy configurations with random fields and energies: no information about
    the reference but the spins."""
    ds = read_dataset(toy_square)
    rng = np.random.default_rng(3)
    frames = []
    for f in ds.frames:
        g = copy.copy(f)
        g.fm = rng.normal(size=f.fm.shape)
        g.energy = float(rng.normal())
        frames.append(g)
    write_dataset(name, frames, "lj", "pair_style none (labels are noise)", dimension=2)
    return name


def metrics(path):
    with open(path) as fh:
        return json.load(fh)


def test_student_learns_the_reference_from_the_teacher_not_from_the_noise_labels(tmp_path, toy_square, teacher):
    """The training labels are noise, so only the teacher's labels can carry the reference:
    without --teacher the validation R^2 stays near zero or below, with it the student
    approaches the teacher (whose own validation R^2 is about 0.9)."""
    noise = noise_labelled_copy(toy_square, str(tmp_path / "noise"))
    args = ["--valid", toy_square, "--epochs", "25"] + FAST
    assert main(["train", noise, "--out", str(tmp_path / "student"), "--teacher", teacher] + args) == 0
    assert main(["train", noise, "--out", str(tmp_path / "plain"), "--allow-mixed-reference"] + args) == 0
    student = metrics(tmp_path / "student" / "metrics.json")["validation"]["transverse_field"]["r2"]
    plain = metrics(tmp_path / "plain" / "metrics.json")["validation"]["transverse_field"]["r2"]
    assert plain < 0.2 and student > 0.6, (plain, student)
    _, meta = load_model(str(tmp_path / "student" / "model.pt"))
    assert meta["reference"]["style"] == "toy-sd"  # the teacher's reference, not the noise sets'
    labels = meta["dataset"]["training_labels_from"]
    assert labels["file"] == "model.pt" and len(labels["sha256"]) == 64


def test_init_starts_from_the_files_weights_and_statistics(tmp_path, toy_square, teacher):
    """With a learning rate of 1e-12 the trained model is the initial one: its fields
    are the file's to 1e-9 (refitted feature statistics would change them at 1e-2)."""
    out = tmp_path / "fine"
    assert main(["train", toy_square, "--out", str(out), "--init", teacher, "--epochs", "1", "--lr", "1e-12",
                 "--lr-min", "1e-12", "--val-fraction", "0.2"] + FAST[4:]) == 0
    a, meta_a = load_model(teacher)
    b, meta_b = load_model(str(out / "model.pt"))
    assert meta_b["model"]["hidden"] == meta_a["model"]["hidden"]
    batch = batch_of("square", meta_a["cutoff"])
    fa, fb = predict(a, batch, 1.0).fm, predict(b, batch, 1.0).fm
    assert float((fa - fb).abs().max()) < 1e-9 * float(fa.abs().max())


def test_init_member_starts_from_the_committee_member(tmp_path, toy_square):
    fits, merged, path = committee_file(tmp_path, "square", 3)
    out = tmp_path / "member"
    # the committee of test_convert has its own descriptor and data: only its weights matter here
    rc = main(["train", toy_square, "--out", str(out), "--init", path, "--init-member", "2", "--epochs", "1",
               "--lr", "1e-12", "--lr-min", "1e-12", "--val-fraction", "0.2", "--allow-mixed-reference"] + FAST[4:])
    assert rc == 0
    module, _ = load_model(str(out / "model.pt"))
    batch = batch_of("square", merged.cutoff)
    want = predict(committee_member(merged, 3, 1), batch, 1.0).fm
    assert float((predict(module, batch, 1.0).fm - want).abs().max()) < 1e-9 * float(want.abs().max())


def test_teacher_needs_labelled_validation_data(tmp_path, toy_square, teacher, capsys):
    assert main(["train", toy_square, "--out", str(tmp_path / "x"), "--teacher", teacher] + FAST) != 0
    assert "--teacher needs --valid" in capsys.readouterr().err
    for teacher_args in ([], ["--teacher", teacher, "--valid", toy_square]):
        assert main(["train", toy_square, "--out", str(tmp_path / "y"), "--init-member", "2"] + teacher_args + FAST) != 0
        assert "--init-member needs --init" in capsys.readouterr().err


def test_descriptor_of_takes_the_files_descriptor(tmp_path, toy_square, teacher):
    """A new network on the teacher's descriptor: radius 3 here against FAST's radius 2."""
    _, meta = load_model(teacher)
    out = tmp_path / "same"
    assert main(["train", toy_square, "--out", str(out), "--descriptor-of", teacher, "--epochs", "1",
                 "--val-fraction", "0.2"] + FAST + ["--radius", "3"]) == 0
    _, got = load_model(str(out / "model.pt"))
    assert got["descriptor"] == meta["descriptor"] and got["descriptor"]["radius"] == 2.0
