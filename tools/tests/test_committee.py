"""A committee model file is the mean of its members: energies and fields of the
merged network equal the averages of the members' (lattice and continuous
descriptors, one and two species), through TorchScript export too."""

import numpy as np
import pytest
import torch

from conftest import continuous_model, lattice_model, random_unit
from mlspin_train.cli import main
from mlspin_train.committee import SHARED_BUFFERS, merge
from mlspin_train.dataset import planar_box
from mlspin_train.export import load_model
from mlspin_train.physics import predict
from mlspin_train.lattice import make_lattice
from test_continuous_descriptor import system
from test_model_fields import make_batch


def members(kind, k=3):
    """k models of one configuration with different weights and the same data normalisation."""
    make = (lambda seed: continuous_model(n_species=2, seed=seed)) if kind == "continuous" else (lambda seed: lattice_model(kind, radius=2.0, seed=seed))
    out = [make(seed) for seed in range(k)]
    gen = torch.Generator().manual_seed(11)
    first = out[0]
    # data statistics as fit_statistics would set them (not the defaults 0 and 1)
    first.feature_mean.copy_(torch.randn(first.feature_mean.shape, generator=gen, dtype=torch.float64) * 0.1)
    first.feature_scale.copy_(torch.rand(first.feature_scale.shape, generator=gen, dtype=torch.float64) + 0.5)
    first.energy_shift.copy_(torch.randn(first.energy_shift.shape, generator=gen, dtype=torch.float64))
    first.energy_scale.fill_(0.3)
    first.magnitude_coef.copy_(torch.randn(first.magnitude_coef.shape, generator=gen, dtype=torch.float64))
    for m in out[1:]:
        for name in SHARED_BUFFERS:
            getattr(m, name).copy_(getattr(first, name))
    return out


def configuration(kind):
    if kind == "continuous":
        return system(seed=2)
    rng = np.random.default_rng(4)
    pos, box = make_lattice(kind, 5, 5)
    spins = random_unit(len(pos), rng) * rng.uniform(0.8, 1.2, size=(len(pos), 1))
    return pos, planar_box(box, 2), np.zeros(len(pos), dtype=np.int64), spins


@pytest.mark.parametrize("kind", ["square", "triangular", "continuous"])
def test_merged_model_is_the_mean_of_its_members(kind):
    models = members(kind)
    merged = merge(models)
    pos, box, types, spins = configuration(kind)
    batch = make_batch(pos, box, types, spins, models[0].cutoff)
    outs = [predict(m, batch, 1.0) for m in models]
    got = predict(merged, batch, 1.0)
    mean_site = sum(o.site_energy for o in outs) / len(outs)
    mean_fm = sum(o.fm for o in outs) / len(outs)
    # the members differ, so the test could fail
    assert float((outs[0].fm - outs[1].fm).abs().max()) > 1e-3
    assert torch.allclose(got.site_energy, mean_site, rtol=0, atol=1e-12)
    assert torch.allclose(got.fm, mean_fm, rtol=0, atol=1e-12)
    assert merged.config["hidden"] == [3 * h for h in models[0].config["hidden"]]


def test_members_must_share_descriptor_network_and_data_normalisation():
    a, b = members("square", k=2)
    b.feature_scale.mul_(1.01)
    with pytest.raises(ValueError, match="feature_scale.*same training data"):
        merge([a, b])
    with pytest.raises(ValueError, match="'hidden'"):
        merge([a, _wider(a)])
    with pytest.raises(ValueError, match="at least two"):
        merge([a])
    b.feature_scale.copy_(a.feature_scale)
    name, table = next((n, t) for n, t in b.descriptor.state_dict().items() if t.is_floating_point() and t.numel() > 1)
    table.mul_(-1.0)  # tables that differ from the first member's
    with pytest.raises(ValueError, match="descriptor tables"):
        merge([a, b])


def test_members_built_on_other_machines_agree_and_other_table_versions_are_refused():
    """Canonical tables of one configuration differ between machines by rounding
    at most: such members merge. Members with tables of another construction
    (version 1: bases from an eigensolver) are refused as such."""
    a, b = members("square", k=2)
    with torch.no_grad():
        b.descriptor.orb_u.mul_(1.0 + 4e-16)  # another BLAS kernel's rounding
        b.descriptor.bs_t.add_(torch.sign(b.descriptor.bs_t) * 1e-16)
    assert not torch.equal(a.descriptor.orb_u, b.descriptor.orb_u)
    merged = merge([a, b])
    pos, box, types, spins = configuration("square")
    batch = make_batch(pos, box, types, spins, a.cutoff)
    mean = (predict(a, batch, 1.0).site_energy + predict(b, batch, 1.0).site_energy) / 2
    assert torch.allclose(predict(merged, batch, 1.0).site_energy, mean, rtol=0, atol=1e-12)
    b.descriptor.tables_version.fill_(1)
    with pytest.raises(ValueError, match="member 2 has descriptor tables of version 1, member 1 of version 2"):
        merge([a, b])
    a.descriptor.tables_version.fill_(1)
    merge([a, b])
    with torch.no_grad():
        b.descriptor.orb_u.mul_(-1.0)  # another eigensolver basis
    with pytest.raises(ValueError, match="orb_u.*version 1 tables come from an eigensolver"):
        merge([a, b])


def _wider(model):
    cfg = dict(model.config, hidden=[h + 1 for h in model.config["hidden"]])
    return type(model)(cfg)


def test_committee_command_writes_a_model_file_of_the_mean(tmp_path, toy_square, capsys):
    # the command sets torch's and OpenBLAS's threads; conftest's autouse fixture restores them
    models = members("square", k=2)
    paths = []
    for k, m in enumerate(models):
        path = str(tmp_path / f"fit{k}.pt")
        torch.save({"config": m.config, "model_state": m.state_dict(), "best_state": m.state_dict(),
                    "extra": {"units": "lj", "reference": {"text": "toy"}, "description": f"fit {k}", "metrics": {"test": {"k": k}}}}, path)
        paths.append(path)
    out = tmp_path / "committee"
    assert main(["committee", *paths, "--out", str(out), "--test", toy_square, "--threads", "1"]) == 0
    assert "test (64 snapshots)" in capsys.readouterr().out
    module, meta = load_model(str(out / "model.pt"))
    assert [m["metrics"] for m in meta["committee"]["members"]] == [{"test": {"k": 0}}, {"test": {"k": 1}}]
    assert "transverse_field" in meta["metrics"]["test"]
    assert (out / "parity_test.png").exists()
    pos, box, types, spins = configuration("square")
    batch = make_batch(pos, box, types, spins, models[0].cutoff)
    expected = sum(predict(m, batch, 1.0).fm for m in models) / 2
    assert torch.allclose(predict(module, batch, 1.0).fm, expected, rtol=0, atol=1e-12)
