"""The shipped potentials follow the contract, carry the metadata their model cards
quote, and give the same energies and fields in pair_style mlspin (1 and 2 ranks) as
in Python."""

import glob
import os

import pytest

from mlspin_train.check import FAIL, check_model
from mlspin_train.export import load_model
from mlspin_train.lammps import default_lmp, style_available

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# model.pt of each potential, and the other files shipped beside it (the release before
# it: a committee or double precision; README "Files" of each potential)
MODELS = sorted(glob.glob(os.path.join(ROOT, "potentials", "*", "*.pt")))
LMP = os.environ.get("MLSPIN_LMP", default_lmp())
MISSING = style_available(LMP, "pair", "mlspin")
REFERENCES = {
    "triangular_chiral": "hop 1.0 J 3.0 mu -3.3 kT 0.4 solver ed",
    "square_double_exchange": "hop 1.0 J 6.0 mu -4.2 kT 0.05 solver ed",
}


def test_both_potentials_are_shipped():
    assert sorted(os.path.basename(os.path.dirname(m)) for m in MODELS if m.endswith("/model.pt")) == sorted(REFERENCES)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_shipped_potential_passes_check(path):
    if MISSING is not None and os.environ.get("MLSPIN_REQUIRE_LMP") != "1":
        pytest.skip(f"pair_style mlspin not available: {MISSING}")
    _, meta = load_model(path)
    assert meta["units"] == "lj" and meta["species"] == ["site"] and meta["dtype"] in ("float64", "float32")
    assert meta["reference"]["text"].endswith(REFERENCES[os.path.basename(os.path.dirname(path))])
    assert "test" in meta["metrics"]  # held-out metrics, as quoted by the model card
    failed = [str(r) for r in check_model(path, lmp=LMP, ranks=(1, 2)) if r.status == FAIL]
    assert not failed, failed


def strings(value):
    """Every string value in a JSON structure (keys of mappings included)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


def machine_paths(meta):
    """Strings that name a place on the machine that wrote the metadata."""
    marks = ("/home/", "/work/", "/root/", "/tmp/", "/Users/", "~/", ":\\")
    return [s for s in strings(meta) if s.startswith(("/", "~")) or any(m in s for m in marks)]


def test_machine_paths_finds_what_it_should():
    found = machine_paths({"a": ["/x/y.dump", "data/y.dump", {"b": "run in /home/alice/data"}], "/srv/k": 1})
    assert found == ["/x/y.dump", "run in /home/alice/data", "/srv/k"]


@pytest.mark.parametrize("path", MODELS, ids=lambda p: "/".join(p.split(os.sep)[-2:]))
def test_shipped_metadata_has_no_absolute_paths(path):
    _, meta = load_model(path)
    assert machine_paths(meta) == []
    folder = os.path.dirname(path)
    for role in ("train", "validation", "test"):
        for entry in meta["dataset"][role]:
            assert entry["files"] == [f"data/{entry['name']}.dump", f"data/{entry['name']}.energy"]
            assert sorted(entry["sha256"]) == sorted(entry["files"])  # as recorded at training
    for member in meta.get("committee", {}).get("members", []):
        assert os.path.dirname(os.path.join(folder, member["checkpoint"])).startswith(folder)
