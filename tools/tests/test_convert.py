"""mlspin-train convert: a committee member read back from a merged file gives the
member's own fields (its energies up to one constant), single precision agrees with
double precision to float32 rounding, and the metadata say what was derived from what."""

import pytest
import torch

from mlspin_train.cli import main
from mlspin_train.committee import merge
from mlspin_train.convert import committee_member, model_from_file
from mlspin_train.export import load_model, make_metadata, save_model
from mlspin_train.physics import predict
from test_committee import configuration, members
from test_model_fields import make_batch


def committee_file(tmp_path, kind="square", k=3):
    fits = members(kind, k)
    merged = merge(fits)
    meta = make_metadata(merged, "lj", {"text": "toy"}, {}, {"test": {"r2": 0.5}}, "toy committee")
    meta["committee"] = {"members": [{"checkpoint": f"fit{i}.pt", "metrics": {"test": {"member": i}}} for i in range(k)]}
    path = str(tmp_path / "committee.pt")
    save_model(merged, path, meta)
    return fits, merged, path


def batch_of(kind, cutoff):
    pos, box, types, spins = configuration(kind)
    return make_batch(pos, box, types, spins, cutoff)


@pytest.mark.parametrize("kind", ["square", "triangular"])
def test_member_of_a_merged_model_is_the_member(kind):
    fits = members(kind)
    merged = merge(fits)
    batch = batch_of(kind, merged.cutoff)
    for k, fit in enumerate(fits):
        want, got = predict(fit, batch, 1.0), predict(committee_member(merged, len(fits), k), batch, 1.0)
        assert torch.allclose(got.fm, want.fm, rtol=0, atol=1e-12)
        # merge() averaged the output constants: energies agree up to one constant
        diff = got.site_energy - want.site_energy
        assert float((diff - diff.mean()).abs().max()) < 1e-12
    assert float((predict(fits[0], batch, 1.0).fm - predict(fits[1], batch, 1.0).fm).abs().max()) > 1e-3


def test_convert_command_writes_a_member_and_its_metadata(tmp_path, capsys):
    fits, merged, path = committee_file(tmp_path)
    out = str(tmp_path / "member2.pt")
    assert main(["convert", path, out, "--member", "2", "--threads", "1"]) == 0
    assert "member 2 of 3" in capsys.readouterr().out
    module, meta = load_model(out)
    assert meta["model"]["hidden"] == fits[1].config["hidden"]
    assert meta["metrics"] == {"test": {"member": 1}}
    assert meta["derived_from"]["member"] == 2 and meta["derived_from"]["source"] == "committee.pt"
    assert "committee" not in meta and len(meta["committee_of_source"]["members"]) == 3
    batch = batch_of("square", merged.cutoff)
    assert torch.allclose(predict(module, batch, 1.0).fm, predict(fits[1], batch, 1.0).fm, rtol=0, atol=1e-12)
    # the constant offset: the member's mean site energy is the committee's on random spins,
    # so it lies within the spread of the members' means
    means = [float(predict(m, batch, 1.0).site_energy.mean()) for m in fits]
    got = float(predict(module, batch, 1.0).site_energy.mean())
    spread = max(means) - min(means)
    assert min(means) - spread <= got <= max(means) + spread


def test_float32_file_agrees_with_float64_to_single_precision(tmp_path):
    _, merged, path = committee_file(tmp_path, kind="triangular")
    out = str(tmp_path / "f32.pt")
    assert main(["convert", path, out, "--float32", "--threads", "1"]) == 0
    module, meta = load_model(out)
    assert meta["dtype"] == "float32" and meta["model"]["hidden"] == merged.config["hidden"]
    assert next(module.parameters()).dtype == torch.float32
    batch = batch_of("triangular", merged.cutoff)
    want = predict(merged, batch, 1.0).fm
    b32 = type(batch)(batch.spin.float(), batch.types, batch.edge_index, batch.edge_vec.float(), batch.frame, batch.n_frames)
    got = predict(module, b32, 1.0).fm.double()
    # float32 rounding (6e-8) of O(10^2) features summed into O(10^2) units, twice (forward,
    # backward): errors of order 1e-5 of the field scale at most
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) < 1e-5 * scale
    assert float((got - want).abs().max()) > 0  # it is single precision
    # and back: the Python model of a float32 file holds its (rounded) weights in float64
    assert model_from_file(module, meta).feature_mean.dtype == torch.float64


def test_member_of_a_file_without_committee_or_out_of_range_is_an_error(tmp_path, capsys):
    fits, merged, path = committee_file(tmp_path)
    assert main(["convert", path, str(tmp_path / "x.pt"), "--member", "4", "--threads", "1"]) != 0
    assert "member 4 asked for, the committee has 3" in capsys.readouterr().err
    single = str(tmp_path / "single.pt")
    save_model(fits[0], single, make_metadata(fits[0], "lj", {"text": "toy"}, {}, {}, "one fit"))
    assert main(["convert", single, str(tmp_path / "y.pt"), "--member", "2", "--threads", "1"]) != 0
    assert "member 2 asked for, the committee has 1" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()
