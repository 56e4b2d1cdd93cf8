"""potentials/common/heldout.py: the pooled R^2 from per-unit statistics and its
bootstrap interval over units (no LAMMPS needed)."""

import os
import sys

import numpy as np
import pytest
import torch

COMMON = os.path.join(os.path.dirname(__file__), "..", "..", "potentials", "common")
sys.path.insert(0, os.path.abspath(COMMON))

from heldout import bootstrap_r2, kind_of, pooled_r2, pooled_rmse, unit_stats  # noqa: E402
from mlspin_train.physics import regression_metrics  # noqa: E402


def _units(rng, n_units, noise):
    """Reference and predicted fields of n_units units, unit k with error scale noise[k]."""
    refs = [rng.normal(size=(30, 3)) * 0.01 for _ in range(n_units)]
    preds = [r + rng.normal(size=r.shape) * 0.01 * noise[k] for k, r in enumerate(refs)]
    return refs, preds


def test_pooled_statistics_reproduce_the_metrics_of_the_concatenated_data():
    rng = np.random.default_rng(1)
    refs, preds = _units(rng, 5, [0.05, 0.1, 0.2, 0.1, 0.3])
    stats = np.array([unit_stats(p, r) for p, r in zip(preds, refs)])
    ref = torch.tensor(np.concatenate(refs))
    pred = torch.tensor(np.concatenate(preds))
    expected = regression_metrics(pred, ref)
    assert abs(pooled_r2(stats.sum(0)) - expected["r2"]) < 1e-12
    assert abs(pooled_rmse(stats) - expected["rmse"]) < 1e-15
    # one unit alone: its own R^2
    alone = regression_metrics(torch.tensor(preds[2]), torch.tensor(refs[2]))["r2"]
    assert abs(pooled_r2(stats[2]) - alone) < 1e-12


def test_interval_of_identical_units_collapses_onto_the_pooled_value():
    rng = np.random.default_rng(2)
    refs, preds = _units(rng, 1, [0.1])
    row = unit_stats(preds[0], refs[0])
    stats = np.tile(row, (6, 1))
    low, high, values = bootstrap_r2(stats, resamples=2000, seed=3)
    pooled = pooled_r2(stats.sum(0))
    assert abs(pooled - pooled_r2(row)) < 1e-12
    assert abs(low - pooled) < 1e-12 and abs(high - pooled) < 1e-12
    assert np.ptp(values) < 1e-12


def test_interval_of_different_units_covers_the_pooled_value_and_is_reproducible():
    rng = np.random.default_rng(4)
    refs, preds = _units(rng, 8, [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    stats = np.array([unit_stats(p, r) for p, r in zip(preds, refs)])
    low, high, values = bootstrap_r2(stats, resamples=10000, seed=5)
    pooled = pooled_r2(stats.sum(0))
    per_unit = pooled_r2(stats)
    assert per_unit.min() < low < pooled < high < per_unit.max()
    assert values.size == 10000
    assert (low, high) == bootstrap_r2(stats, resamples=10000, seed=5)[:2]
    assert (low, high) != bootstrap_r2(stats, resamples=10000, seed=6)[:2]


def test_stratified_resamples_keep_a_lone_unit_of_its_kind():
    # the one configuration set (a much better unit) is in every stratified resample,
    # so no resample is as bad as the quenches alone; unstratified ones can leave it out
    rng = np.random.default_rng(6)
    refs, preds = _units(rng, 5, [0.3, 0.3, 0.3, 0.3, 0.01])
    stats = np.array([unit_stats(p, r) for p, r in zip(preds, refs)])
    names = ["blind_q20_s411", "blind_q20_s412", "blind_q20_s413", "blind_q20_s414", "blind_c30_s421"]
    strata = [kind_of(n) for n in names]
    assert strata == ["blind_q20"] * 4 + ["blind_c30"]
    _, _, stratified = bootstrap_r2(stats, strata, resamples=4000, seed=7)
    _, _, free = bootstrap_r2(stats, None, resamples=4000, seed=7)
    # a resample of quenches only is worse than any that holds the configuration set
    assert free.min() < stratified.min() - 0.01


def test_solve_mu_meets_the_electron_number_and_refuses_an_unreachable_one():
    from heldout import solve_mu

    def electrons(mu):  # monotone, with the root at mu = atanh(0.3) / 2
        return 100.0 + 10.0 * np.tanh(2.0 * mu)

    mu = solve_mu(electrons, 103.0, (-3.0, 2.0), rtol=1e-13)
    assert abs(electrons(mu) - 103.0) <= 1e-13 * 103.0
    assert abs(mu - np.arctanh(0.3) / 2.0) < 1e-12
    with pytest.raises(SystemExit, match="outside"):
        solve_mu(electrons, 111.0, (-3.0, 2.0))


def test_canonical_snapshot_at_the_models_own_mu(tmp_path):
    """--filling-solve: a mu model on a canonical snapshot is evaluated where its own
    N_e = 2fN, which is not the reference's mu."""
    from heldout import model_electrons, solve_mu
    from mlspin_train.dataset import Frame, planar_box
    from mlspin_train.graph import prepare
    from mlspin_train.lattice import make_lattice
    from test_mu_model import mu_model

    model = mu_model("lattice")
    pos, box = make_lattice("square", 5, 5)
    rng = np.random.default_rng(3)
    spins = rng.normal(size=(len(pos), 3))
    spins /= np.linalg.norm(spins, axis=1, keepdims=True)
    frame = Frame(step=0, box=planar_box(box, 2), ids=np.arange(1, len(pos) + 1), types=np.ones(len(pos), np.int64),
                  positions=pos, spin_dir=spins, spin_mag=np.ones(len(pos)), fm=np.zeros_like(spins), energy=0.0,
                  extra={"ne": np.full(len(pos), 0.7)}, mu=-2.0, filling=0.35)
    item = prepare([frame], {1: 0}, model.cutoff, mu_input=True)[0]
    target = 2.0 * 0.35 * len(pos)
    mu = solve_mu(lambda m: model_electrons(model, item, m, 1.0), target, (-3.0, -1.0))
    assert abs(model_electrons(model, item, mu, 1.0) - target) <= 1e-12 * target
    assert -3.0 < mu < -1.0 and abs(mu - frame.mu) > 1e-6
