"""TorchScript export: metadata, reload, and the file reproducing the model."""

import json
import zipfile

import numpy as np
import pytest
import torch

from conftest import continuous_model, lattice_model, random_unit
from mlspin_train.dataset import planar_box
from mlspin_train.export import META_FILE, load_model, make_metadata, save_model, validate_metadata
from mlspin_train.graph import Batch, build_graph
from mlspin_train.physics import predict
from mlspin_train.lattice import make_lattice
from test_continuous_descriptor import system

REFERENCE = {"style": "sd/tb", "parameters": {"hop": 1.0, "J": 6.0}, "text": "sd/tb hop 1.0 J 6.0 filling 0.485"}


def snapshot(kind):
    if kind == "continuous":
        pos, box, types, spins = system(seed=2)
    else:
        pos, box = make_lattice(kind, 6, 6)
        box = planar_box(box, 2)
        types = np.zeros(len(pos), dtype=np.int64)
        spins = random_unit(len(pos), np.random.default_rng(3))
    return pos, box, types, spins


def batch_for(model, pos, box, types, spins, dtype=torch.float64):
    g = build_graph(pos, box, model.cutoff)
    return Batch(torch.tensor(spins, dtype=dtype), torch.tensor(types), torch.tensor(g.edge_index),
                 torch.tensor(g.edge_vec, dtype=dtype), torch.zeros(len(pos), dtype=torch.int64), 1)


def exported(tmp_path, model, dtype="float64"):
    meta = make_metadata(model, "lj", REFERENCE, {"files": ["x.dump"]}, {"validation": {"r2": 0.9}}, "test model")
    path = str(tmp_path / f"model_{dtype}.pt")
    save_model(model, path, meta, dtype)
    return path


@pytest.mark.parametrize("kind", ["square", "triangular", "continuous"])
def test_exported_file_reproduces_energies_fields_and_forces(tmp_path, kind):
    model = lattice_model(kind, radius=2.0) if kind != "continuous" else continuous_model(n_species=2)
    with torch.no_grad():  # non-trivial standardization and shifts must travel too
        model.feature_mean.uniform_(-0.5, 0.5)
        model.energy_shift.fill_(-1.25)
        model.magnitude_coef.fill_(-2.5)
    pos, box, types, spins = snapshot(kind)
    path = exported(tmp_path, model)
    module, meta = load_model(path)
    batch = batch_for(model, pos, box, types, spins)
    ref = predict(model, batch, 1.0, forces=True)
    out = predict(module, batch, 1.0, forces=True)
    assert torch.allclose(out.site_energy, ref.site_energy, rtol=0, atol=1e-12)
    assert torch.allclose(out.fm, ref.fm, rtol=0, atol=1e-12)
    assert torch.allclose(out.forces, ref.forces, rtol=0, atol=1e-12)
    assert float(ref.fm.abs().max()) > 0.1
    assert meta["contract"] == 1 and meta["dtype"] == "float64" and meta["units"] == "lj"
    assert meta["cutoff"] == pytest.approx(model.cutoff) and meta["species"] == model.config["species"]
    assert meta["reference"] == REFERENCE and meta["metrics"] == {"validation": {"r2": 0.9}}
    assert meta["descriptor"]["kind"] == ("continuous" if kind == "continuous" else "lattice")


def test_float32_export_computes_in_single_precision(tmp_path):
    model = lattice_model("square", radius=2.0)
    pos, box, types, spins = snapshot("square")
    module, meta = load_model(exported(tmp_path, model, "float32"))
    assert meta["dtype"] == "float32"
    ref = predict(model, batch_for(model, pos, box, types, spins), 1.0)
    out = predict(module, batch_for(model, pos, box, types, spins, torch.float32), 1.0)
    assert out.site_energy.dtype == torch.float32
    assert torch.allclose(out.fm.double(), ref.fm, atol=1e-5)
    assert not torch.equal(out.fm.double(), ref.fm)


def test_metadata_is_plain_json_inside_the_archive(tmp_path):
    path = exported(tmp_path, lattice_model("triangular"))
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.endswith("extra/" + META_FILE)]
        assert len(names) == 1
        meta = json.loads(z.read(names[0]))
    for key in ("contract", "cutoff", "species", "units", "dtype", "description", "reference", "dataset", "metrics"):
        assert key in meta


def test_metadata_validation_names_the_problem():
    with pytest.raises(ValueError, match="'species' has type str; 'units' is missing"):
        validate_metadata({"contract": 1, "cutoff": 3.0, "species": "Fe", "dtype": "float64", "description": "", "reference": {}, "metrics": {}})
    with pytest.raises(ValueError, match="'contract' is 3"):
        validate_metadata({"contract": 3, "cutoff": 3.0, "species": ["Fe"], "units": "metal", "dtype": "float64", "description": "", "reference": {}, "metrics": {}})
    # contract 2 (the mu input) needs its two keys
    with pytest.raises(ValueError, match="contract 2 needs 'inputs'.*contract 2 needs 'mu_range'"):
        validate_metadata({"contract": 2, "cutoff": 3.0, "species": ["Fe"], "units": "metal", "dtype": "float64", "description": "", "reference": {}, "metrics": {}})


def test_load_model_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("not a model")
    with pytest.raises(ValueError, match="not a TorchScript model file"):
        load_model(str(bad))
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), str(plain))
    with pytest.raises(ValueError, match="has no mlspin.json"):
        load_model(str(plain))
