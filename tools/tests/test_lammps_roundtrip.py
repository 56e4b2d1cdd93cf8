"""pair_style mlspin in LAMMPS reproduces the Python model (energies, per-atom
energies, fm, forces, virial) on 1 and 2 MPI ranks.

Needs build/lmp with the mlspin plugin (or MLSPIN_LMP=path); skipped otherwise, unless
MLSPIN_REQUIRE_LMP=1 (as in the project's test suite), which turns the skip into a failure."""

import os

import pytest
import torch

from conftest import continuous_model, lattice_model
from mlspin_train.check import OK, check_model
from mlspin_train.export import make_metadata, save_model
from mlspin_train.lammps import default_lmp, style_available

LMP = os.environ.get("MLSPIN_LMP", default_lmp())
MISSING = style_available(LMP, "pair", "mlspin")
if MISSING is not None and os.environ.get("MLSPIN_REQUIRE_LMP") == "1":
    raise RuntimeError(f"MLSPIN_REQUIRE_LMP=1 but LAMMPS round trip cannot run: {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"LAMMPS round trip needs pair_style mlspin: {MISSING}")


def export(tmp_path, model, units="lj", dtype="float64"):
    with torch.no_grad():
        model.feature_mean.uniform_(-0.3, 0.3)
        model.magnitude_coef.fill_(-2.0)
    path = str(tmp_path / f"model_{dtype}.pt")
    save_model(model, path, make_metadata(model, units, {"text": "test"}, {}, {}, "round trip"), dtype)
    return path


def assert_lammps_agrees(results, ranks=(1, 2)):
    lammps = [r for r in results if r.name.startswith("LAMMPS")]
    assert len(lammps) == len(ranks), results
    for r in results:
        assert r.status == OK, r.line()


@pytest.mark.parametrize("kind", ["square", "triangular"])
def test_lattice_model_round_trip(tmp_path, kind):
    path = export(tmp_path, lattice_model(kind, radius=2.5))
    assert_lammps_agrees(check_model(path, lmp=LMP, ranks=(1, 2), tol=1e-10))


def test_lattice_model_on_a_training_snapshot(tmp_path, toy_square):
    path = export(tmp_path, lattice_model("square", radius=3.0))
    assert_lammps_agrees(check_model(path, data=toy_square, frame_index=-1, lmp=LMP, ranks=(1, 2), tol=1e-10))


def test_continuous_model_round_trip_with_forces_and_virial(tmp_path):
    path = export(tmp_path, continuous_model(n_species=2, cutoff=2.5), units="metal")
    results = check_model(path, lmp=LMP, ranks=(1, 2), tol=1e-10)
    assert_lammps_agrees(results)
    assert "virial" in results[-1].detail and "forces" in results[-1].detail


def test_float32_model_round_trip(tmp_path):
    path = export(tmp_path, lattice_model("square", radius=2.0), dtype="float32")
    assert_lammps_agrees(check_model(path, lmp=LMP, ranks=(1,), tol=1e-5), ranks=(1,))
