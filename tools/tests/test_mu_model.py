"""Models with the chemical potential input (contract 2): n_i = -d omega_i/d mu by
finite differences, the data (mu per snapshot, densities, the grand potential of
canonical data), training with the density loss, export and check."""

import json
import os

import numpy as np
import pytest
import torch

from conftest import random_unit
from mlspin_train import toy_sd
from mlspin_train.check import FAIL, OK, check_model, electrons_by_differences
from mlspin_train.cli import main
from mlspin_train.continuous_descriptor import ContinuousDescriptorConfig
from mlspin_train.dataset import DataError, Frame, planar_box, read_dataset, write_dataset
from mlspin_train.export import load_model, make_metadata, metadata_problems, save_model
from mlspin_train.graph import Batch, build_graph, collate, prepare
from mlspin_train.lattice import make_lattice
from mlspin_train.lattice_descriptor import LatticeDescriptorConfig
from mlspin_train.model import MLSpinModel, MLSpinMuModel, build_model
from mlspin_train.physics import hbar_for, predict

FAST = ["--radius", "2", "--hidden", "16,16", "--batch-size", "4", "--threads", "1", "--quiet", "--seed", "0"]


def mu_model(kind="lattice", seed=0):
    torch.manual_seed(seed)
    if kind == "lattice":
        desc = LatticeDescriptorConfig(lattice="square", radius=2.0).to_dict()
        species = ["site"]
    else:
        desc = ContinuousDescriptorConfig(cutoff=2.5, n_species=2, n_radial=4, lmax=2).to_dict()
        species = ["A", "B"]
    model = build_model({"descriptor": desc, "species": species, "hidden": [16, 16], "activation": "silu", "mu_input": True})
    with torch.no_grad():  # non-trivial standardisation and baseline
        model.mu_mean.fill_(-2.0)
        model.mu_scale.fill_(0.6)
        model.mu_range.copy_(torch.tensor([-3.0, -1.0]))
        model.density_shift.uniform_(0.5, 1.0)
        model.compressibility.uniform_(0.1, 0.4)
        model.energy_shift.uniform_(-1, 1)
        model.energy_scale.fill_(1.7)
    return model


def snapshot_batch(kind="lattice", seed=1, mu=-1.8):
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        pos, box = make_lattice("square", 5, 5)
        box = planar_box(box, 2)
        cutoff, types = mu_model("lattice").cutoff, np.zeros(len(pos), np.int64)
    else:
        pos, box = make_lattice("triangular", 4, 4, 1.2)
        pos = pos + 0.05 * rng.normal(size=pos.shape) * np.array([1, 1, 0])
        box = planar_box(box, 2)
        cutoff, types = 2.5, rng.integers(0, 2, len(pos))
    g = build_graph(pos, box, cutoff)
    n = len(pos)
    return Batch(
        spin=torch.tensor(random_unit(n, rng) * rng.uniform(0.8, 1.2, (n, 1))),
        types=torch.tensor(types),
        edge_index=torch.tensor(g.edge_index),
        edge_vec=torch.tensor(g.edge_vec),
        frame=torch.zeros(n, dtype=torch.int64),
        n_frames=1,
        mu=torch.full((n,), mu, dtype=torch.float64),
    )


@pytest.mark.parametrize("kind", ["lattice", "continuous"])  # the columns and the rows path of the networks
def test_densities_are_minus_the_mu_derivative_of_the_grand_potentials(kind):
    """n_i of predict() (one backward pass to a per-atom mu) against central differences
    of omega_i in a 0-d mu (the input pair_style mlspin passes), for the Python and the
    TorchScript module; and their sum against differences of the total grand potential."""
    model = mu_model(kind)
    batch = snapshot_batch(kind)
    for module in (model, torch.jit.script(model)):
        out = predict(module, batch, hbar_for("lj"))
        fd = electrons_by_differences(module, batch, -1.8, 0.05)
        assert float(out.density.abs().min()) > 0.1  # the baseline and network contribute
        np.testing.assert_allclose(out.density.detach().numpy(), fd.numpy(), rtol=0, atol=1e-9)
    # plain central difference of the total, another step: the same N_e
    h = 1e-4

    def total(m):
        with torch.no_grad():
            return float(model(batch.spin, batch.types, batch.edge_index, batch.edge_vec, batch.n_atoms, torch.tensor(m, dtype=torch.float64)).sum())

    assert float(out.density.sum()) == pytest.approx(-(total(-1.8 + h) - total(-1.8 - h)) / (2 * h), rel=1e-7)


def test_the_density_depends_on_mu_and_scalar_and_per_atom_mu_agree():
    model = mu_model()
    batch = snapshot_batch()
    n = batch.n_atoms
    args = (batch.spin, batch.types, batch.edge_index, batch.edge_vec, n)
    per_atom = model(*args, torch.full((n,), -1.3, dtype=torch.float64))
    scalar = model(*args, torch.tensor(-1.3, dtype=torch.float64))
    torch.testing.assert_close(per_atom, scalar, rtol=1e-14, atol=1e-14)
    n_a = predict(model, batch, 1.0).density
    n_b = predict(model, Batch(**{**batch.__dict__, "mu": batch.mu + 0.5}), 1.0).density
    assert float((n_b - n_a).abs().max()) > 1e-3  # mu is an input, not a constant


def test_contract_1_models_are_unchanged():
    """No mu input: the same class, state dict keys and forward signature as before."""
    torch.manual_seed(0)
    cfg = {"descriptor": LatticeDescriptorConfig(lattice="square", radius=2.0).to_dict(), "species": ["site"], "hidden": [8], "activation": "silu"}
    model = build_model(cfg)
    assert type(model) is MLSpinModel and not model.takes_mu
    assert not any(k.startswith("mu_") or k in ("density_shift", "compressibility") for k in model.state_dict())
    assert len(torch.jit.script(model).forward.schema.arguments) == 6
    assert isinstance(build_model(dict(cfg, mu_input=True)), MLSpinMuModel)


def test_export_writes_contract_2_metadata(tmp_path):
    model = mu_model()
    meta = make_metadata(model, "lj", {"text": "test"}, {}, {}, "mu model")
    assert meta["contract"] == 2 and meta["inputs"] == ["mu"] and meta["mu_range"] == [-3.0, -1.0]
    path = str(tmp_path / "m.pt")
    save_model(model, path, meta)
    module, read = load_model(path)
    assert read["mu_range"] == [-3.0, -1.0]
    args = [a.name for a in module.forward.schema.arguments]
    assert args == ["self", "spin", "types", "edge_index", "edge_vec", "n_local", "mu"]
    results = check_model(path, lmp=None)
    assert all(r.status in (OK, "skipped", "warning") for r in results), [r.line() for r in results]
    assert any(r.name.startswith("electron numbers") and r.status == OK for r in results)
    # metadata problems of contract 2
    assert metadata_problems(dict(read, mu_range=[1.0, 1.0]))
    assert metadata_problems(dict(read, inputs=[]))
    assert not metadata_problems(read)


def test_check_finds_a_contract_2_file_with_a_contract_1_forward(tmp_path):
    torch.manual_seed(0)
    cfg = {"descriptor": LatticeDescriptorConfig(lattice="square", radius=2.0).to_dict(), "species": ["site"], "hidden": [8], "activation": "silu"}
    model = build_model(cfg)
    meta = dict(make_metadata(model, "lj", {"text": "t"}, {}, {}, "wrong"), contract=2, inputs=["mu"], mu_range=[-1.0, 1.0])
    path = str(tmp_path / "bad.pt")
    save_model(model, path, meta)
    results = check_model(path, lmp=None)
    sig = [r for r in results if r.name == "forward signature"][0]
    assert sig.status == FAIL and "contract 2" in sig.detail


# ----------------------------------------------------------------------------
# data


def test_mu_and_grand_potential_of_canonical_and_grand_canonical_data(tmp_path):
    """Canonical snapshots (pe = F) carry mu in the .energy column; their grand potential
    is F - mu 2 f N. Grand-canonical ones take mu from the header; their pe is Omega.
    Checked against the toy ED's own Omega at the snapshot's mu."""
    pos, box = make_lattice("square", 4, 4)
    can = toy_sd.SDModel(J=4.0, filling=0.4, kT=0.2)
    frames = toy_sd.generate(str(tmp_path / "can"), "square", 4, can, n_random=3, seed=2)
    ds = read_dataset(str(tmp_path / "can"))
    system = toy_sd.SDSystem(toy_sd.SDModel(J=4.0, mu=ds.frames[1].mu, kT=0.2), pos, box)
    omega = system.solve(ds.frames[1].spins)[0]
    assert ds.frames[1].filling == 0.4 and ds.frames[1].mu == frames[1].mu
    assert ds.frames[1].grand_potential() == pytest.approx(omega, rel=1e-12)
    assert ds.frames[1].energy == pytest.approx(omega + ds.frames[1].mu * 2 * 0.4 * 16, rel=1e-12)
    # the densities of the ED sum to the electron number
    assert ds.frames[1].density.sum() == pytest.approx(2 * 0.4 * 16, rel=1e-10)

    toy_sd.generate(str(tmp_path / "gc"), "square", 4, toy_sd.SDModel(J=4.0, mu=-2.5, kT=0.2), n_random=2, seed=2)
    gc = read_dataset(str(tmp_path / "gc"))
    assert [f.mu for f in gc.frames] == [-2.5, -2.5] and gc.frames[0].filling is None
    assert gc.frames[0].grand_potential() == gc.frames[0].energy


def test_canonical_data_without_mu_load_for_contract_1_but_not_for_mu_models(tmp_path):
    frames = toy_sd.generate(str(tmp_path / "x"), "square", 4, toy_sd.SDModel(J=4.0, filling=0.4, kT=0.2), n_random=2, seed=2)
    name = str(tmp_path / "old")
    write_dataset(name, frames, "lj", "sd/tb hop 1.0 J 4.0 filling 0.4 kT 0.2", dimension=2)  # no mu column
    ds = read_dataset(name)
    assert ds.frames[0].mu is None and ds.frames[0].energy == frames[0].energy
    items = prepare(ds.frames, {1: 0}, 2.0)  # contract 1: energy = pe, no mu
    assert "mu" not in items[0] and float(items[0]["energy"]) == frames[0].energy
    with pytest.raises(ValueError, match="mu column"):
        prepare(ds.frames, {1: 0}, 2.0, mu_input=True)


def test_energy_file_with_a_mu_column_that_contradicts_the_header(tmp_path):
    frames = toy_sd.generate(str(tmp_path / "x"), "square", 4, toy_sd.SDModel(J=4.0, filling=0.4, kT=0.2), n_random=2, seed=2)
    name = str(tmp_path / "bad")
    write_dataset(name, frames, "lj", "sd/tb hop 1.0 J 4.0 mu -1.0 kT 0.2", dimension=2, mu_column=True)
    with pytest.raises(DataError, match="differs from the reference's mu"):
        read_dataset(name)
    with open(name + ".energy", "a") as fh:
        fh.write("99 1.0\n")  # a row without its mu
    with pytest.raises(DataError, match="expected 'step pe mu'"):
        read_dataset(name)


# ----------------------------------------------------------------------------
# training


@pytest.fixture(scope="module")
def toy_mu_sets(tmp_path_factory):
    """4x4 toy s-d data (J = 4, kT = 0.2): grand canonical at mu = -3.2, -2.6, -2.0
    (mean n_i 0.73, 0.85, 0.95), and canonical at filling 0.45 (mu about -2.9)."""
    folder = tmp_path_factory.mktemp("mu")
    names = []
    for k, mu in enumerate([-3.2, -2.6, -2.0]):
        names.append(str(folder / f"gc{k}"))
        toy_sd.generate(names[-1], "square", 4, toy_sd.SDModel(J=4.0, mu=mu, kT=0.2), n_random=12, seed=3 + k)
    names.append(str(folder / "can"))
    toy_sd.generate(names[-1], "square", 4, toy_sd.SDModel(J=4.0, filling=0.45, kT=0.2), n_random=12, seed=9)
    return names


def test_training_a_mu_model(tmp_path, toy_mu_sets):
    """--mu-input on grand-canonical (mu = -3.2, -2.0) and canonical toy data, validated
    at mu = -2.6: the electron number per site there is predicted to 0.03 (the sets
    next to it differ by 0.1 from it), the density loss falls, the metrics report n_i,
    the file is contract 2 with mu_range = the training data's range of mu, and
    `check`, `evaluate` and `export` accept it."""
    out = str(tmp_path / "fit")
    gc_lo, held, gc_hi, can = toy_mu_sets
    can_mu = [f.mu for f in read_dataset(can).frames]
    assert -3.2 < min(can_mu) and max(can_mu) < -2.0
    assert main(["train", gc_lo, gc_hi, can, "--valid", held, "--out", out, "--mu-input", "--epochs", "12", "--w-density", "2"] + FAST) == 0
    history = json.load(open(os.path.join(out, "history.json")))
    assert history[-1]["val_terms"]["density"] < history[0]["val_terms"]["density"]
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    val = metrics["validation"]
    assert val["density"]["count"] == 12 * 16
    assert val["electrons_per_atom"]["rmse"] < 0.03, val["electrons_per_atom"]
    module, meta = load_model(os.path.join(out, "model.pt"))
    assert meta["contract"] == 2 and meta["inputs"] == ["mu"] and meta["mu_range"] == [-3.2, -2.0]
    assert "mu" not in meta["reference"]["parameters"] and meta["reference"]["ensembles"]["gc0"] == {"mu": -3.2}
    assert all(r.status != FAIL for r in check_model(os.path.join(out, "model.pt"), data=held, lmp=None))
    ev = str(tmp_path / "ev")
    assert main(["evaluate", os.path.join(out, "model.pt"), held, "--out", ev, "--threads", "1"]) == 0
    result = json.load(open(os.path.join(ev, "metrics.json")))["metrics"]
    assert result["density"]["rmse"] == pytest.approx(val["density"]["rmse"], rel=1e-9)
    # re-export from the checkpoint keeps contract 2
    f32 = str(tmp_path / "f32.pt")
    assert main(["export", os.path.join(out, "checkpoint_best.pt"), f32, "--float32"]) == 0
    assert load_model(f32)[1]["mu_range"] == [-3.2, -2.0]
    card = str(tmp_path / "card.md")
    assert main(["card", os.path.join(out, "model.pt"), "--timing-size", "6", "--threads", "1", "--out", card]) == 0
    text = open(card).read()
    assert "mu_range [-3.2, -2.0]" in text and "| n_i RMSE | n_i R^2 |" in text


def test_a_mu_model_needs_data_at_more_than_one_mu(tmp_path, toy_mu_sets):
    out = str(tmp_path / "one")
    assert main(["train", toy_mu_sets[0], "--out", out, "--mu-input", "--epochs", "1"] + FAST) == 2


def test_mu_models_need_the_same_hamiltonian(tmp_path, toy_mu_sets):
    other = str(tmp_path / "other")
    toy_sd.generate(other, "square", 4, toy_sd.SDModel(J=5.0, mu=-2.0, kT=0.2), n_random=2, seed=1)
    assert main(["train", toy_mu_sets[0], other, "--out", str(tmp_path / "o"), "--mu-input", "--epochs", "1"] + FAST) == 2


class TwoLevels(torch.nn.Module):
    """A foreign contract 2 model with known densities: omega_i = -kT sum_s
    log(1 + exp((mu + s J |S_i|)/kT)) - (K0 + K1 mu)/2 sum_j S_i.S_j, so that
    n_i = sum_s 1/(1 + exp(-(mu + s J |S_i|)/kT)) + K1/2 sum_j S_i.S_j."""

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor, edge_vec: torch.Tensor,
                n_local: int, mu: torch.Tensor) -> torch.Tensor:
        level = 1.5 * torch.sqrt((spin[:n_local] * spin[:n_local]).sum(1))
        omega = -0.4 * (torch.nn.functional.softplus((mu + level) / 0.4) + torch.nn.functional.softplus((mu - level) / 0.4))
        i, j = edge_index[0], edge_index[1]
        bonds = torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, (spin[i] * spin[j]).sum(1))
        return omega - 0.5 * (0.3 + 0.2 * mu) * bonds


def test_densities_of_a_foreign_contract_2_model_match_its_formula(tmp_path):
    batch = snapshot_batch("continuous", mu=-0.7)
    out = predict(TwoLevels(), batch, 1.0)
    level = 1.5 * torch.linalg.norm(batch.spin, dim=1)
    i, j = batch.edge_index
    bonds = torch.zeros(batch.n_atoms, dtype=torch.float64).index_add(0, i, (batch.spin[i] * batch.spin[j]).sum(1))
    expected = torch.sigmoid((-0.7 + level) / 0.4) + torch.sigmoid((-0.7 - level) / 0.4) + 0.1 * bonds
    torch.testing.assert_close(out.density, expected, rtol=1e-13, atol=1e-13)
    meta = {"contract": 2, "inputs": ["mu"], "mu_range": [-2.0, 2.0], "cutoff": 1.2, "species": ["A"], "units": "lj", "dtype": "float64"}
    path = str(tmp_path / "two.pt")
    torch.jit.save(torch.jit.script(TwoLevels()), path, _extra_files={"mlspin.json": json.dumps(meta)})
    results = check_model(path, lmp=None)
    assert all(r.status != FAIL for r in results), [r.line() for r in results]
    assert any(r.name.startswith("electron numbers") and r.status == OK for r in results)
