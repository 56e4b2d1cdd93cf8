"""`check`: contract validation catches what it claims to catch."""

import json

import torch
from torch import Tensor, nn

from conftest import lattice_model
from mlspin_train.check import FAIL, OK, SKIP, WARN, check_model
from mlspin_train.export import META_FILE, make_metadata, save_model


def good_meta(model):
    return make_metadata(model, "lj", {"text": "sd/tb hop 1 J 6"}, {}, {}, "check test")


class NotRotationInvariant(nn.Module):
    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        return spin[:n_local, 2] + 0.0 * edge_vec.sum()


class DependsOnAtomIndex(nn.Module):
    """Rotation invariant, order independent, but weighs neighbors by their index,
    which differs between ranks and for ghost atoms."""

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        w = (edge_index[1] % 2).to(spin.dtype)
        pair = (spin[edge_index[0]] * spin[edge_index[1]]).sum(1) * w
        return torch.zeros(n_local, dtype=spin.dtype).index_add(0, edge_index[0], pair)


class WrongSignature(nn.Module):
    def forward(self, spin: Tensor, edge_vec: Tensor) -> Tensor:
        return spin.sum(1)


def save_module(tmp_path, module, meta, name):
    path = str(tmp_path / name)
    torch.jit.save(torch.jit.script(module), path, _extra_files={META_FILE: json.dumps(meta)})
    return path


def statuses(results):
    return {r.name: r.status for r in results}


def test_a_valid_model_passes_and_lammps_is_skipped_without_executable(tmp_path):
    model = lattice_model("triangular", radius=2.0)
    path = str(tmp_path / "m.pt")
    save_model(model, path, good_meta(model))
    results = check_model(path)
    s = statuses(results)
    assert all(v == OK for k, v in s.items() if not k.startswith("LAMMPS")), results
    assert s["LAMMPS pair_style mlspin"] == SKIP
    assert len(results) == 9


def test_contract_violations_are_caught(tmp_path):
    meta = good_meta(lattice_model("square", radius=2.0))
    s = statuses(check_model(save_module(tmp_path, NotRotationInvariant(), meta, "rot.pt")))
    assert s["global spin rotation"] == FAIL
    s = statuses(check_model(save_module(tmp_path, DependsOnAtomIndex(), meta, "idx.pt")))
    assert s["global spin rotation"] == OK and s["neighbor order"] == OK
    assert s["two ranks with ghost atoms (Python)"] == FAIL
    s = statuses(check_model(save_module(tmp_path, WrongSignature(), meta, "sig.pt")))
    assert s["forward signature"] == FAIL


def test_bad_files_and_metadata(tmp_path):
    (tmp_path / "junk.pt").write_text("junk")
    (result,) = check_model(str(tmp_path / "junk.pt"))
    assert result.status == FAIL and "not a TorchScript model file" in result.detail
    meta = good_meta(lattice_model("square", radius=2.0))
    meta["contract"] = 2
    del meta["units"]
    results = check_model(save_module(tmp_path, NotRotationInvariant(), meta, "meta.pt"))
    assert results[-1].name == "metadata" and results[-1].status == FAIL
    assert "'units' is missing" in results[-1].detail


class Heisenberg(nn.Module):
    """The minimal model of the contract page: E = -sum_<ij> S_i.S_j."""

    def forward(self, spin: Tensor, types: Tensor, edge_index: Tensor, edge_vec: Tensor, n_local: int) -> Tensor:
        i, j = edge_index[0], edge_index[1]
        e_edge = -0.5 * (spin[i] * spin[j]).sum(1)
        return torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, e_edge)


def test_a_foreign_model_with_only_the_required_keys(tmp_path):
    meta = {"contract": 1, "cutoff": 1.1, "species": ["A"], "units": "lj", "dtype": "float64"}
    results = check_model(save_module(tmp_path, Heisenberg(), meta, "heis.pt"))
    s = statuses(results)
    assert s["metadata"] == OK and s["metadata provenance"] == WARN
    assert all(v in (OK, WARN, SKIP) for v in s.values()), results
    (snap,) = [r for r in results if r.name == "test snapshot"]
    assert "simple cubic" in snap.detail


def test_species_names_are_validated(tmp_path):
    meta = {"contract": 1, "cutoff": 1.1, "species": ["A B"], "units": "lj", "dtype": "float64"}
    s = statuses(check_model(save_module(tmp_path, Heisenberg(), meta, "sp.pt")))
    assert s["metadata"] == FAIL
