"""The lattice descriptor tables: the same on every machine (canonical
construction, version 2), versioned in checkpoints and model files, and taken
from the file, never rebuilt, for a model that exists (the shipped potentials
hold version 1 tables)."""

import glob
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from blas_variants import THREADS, core_types
from conftest import continuous_model, lattice_model, random_unit
from dump_descriptor_tables import TOLERANCE, differences
from mlspin_train.committee import SHARED_BUFFERS
from mlspin_train.convert import model_from_file
from mlspin_train.dataset import planar_box
from mlspin_train.export import load_model, make_metadata
from mlspin_train.lattice_tables import TABLES_VERSION
from mlspin_train.model import MLSpinModel
from mlspin_train.physics import predict
from mlspin_train.lattice import make_lattice
from test_model_fields import make_batch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHIPPED = sorted(glob.glob(os.path.join(ROOT, "potentials", "*", "*.pt")))


def dump(path, core, threads):
    """Tables built in a fresh process; returns the OpenBLAS core it ran."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    if core is not None:
        env["OPENBLAS_CORETYPE"] = core
    out = subprocess.run([sys.executable, os.path.join(HERE, "dump_descriptor_tables.py"), "dump", str(path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return re.search(r"OpenBLAS core (\w+)", out.stdout).group(1)


def test_tables_agree_across_blas_kernels_and_thread_counts(tmp_path):
    files, compared, unusable = [], [], []
    for core in core_types() or [None]:
        for threads in THREADS:
            path = tmp_path / f"{core}_{threads}.npz"
            ran = dump(path, core, threads)
            if core is not None and ran != core:  # this OpenBLAS has no such kernel
                unusable.append(core)
                break
            files.append(dict(np.load(path)))
            compared.append(f"{ran}/{threads}")
    assert len(files) >= 2
    for name, other in zip(compared[1:], files[1:]):
        worst, problems = differences(files[0], other)
        assert not problems, (name, problems)
        assert worst <= TOLERANCE
    if unusable:
        pytest.skip(f"tables agree over {compared}; OpenBLAS cannot run core type(s) {unusable} here")


def shipped_id(path):
    return "/".join(path.split(os.sep)[-2:])


def lattice_batch(lattice, cutoff, seed=3):
    rng = np.random.default_rng(seed)
    pos, box = make_lattice(lattice, 12, 12)
    spins = random_unit(len(pos), rng)
    return make_batch(pos, planar_box(box, 2), np.zeros(len(pos), dtype=np.int64), spins, cutoff)


@pytest.mark.parametrize("path", SHIPPED, ids=shipped_id)
def test_shipped_potential_gives_the_energies_of_its_own_tables(path):
    module, meta = load_model(path)
    model = model_from_file(module, meta)
    assert int(model.descriptor.tables_version) == meta.get("descriptor_tables", 1)
    batch = lattice_batch(meta["descriptor"]["lattice"], model.cutoff)
    # the Python model holds exactly the file's tables (bitwise), nothing rebuilt
    own = model.state_dict()
    tables = [k for k in module.state_dict() if k.startswith("descriptor.") and k in own]
    assert "descriptor.orb_u" in tables
    for name in tables:  # float32 files: their tables widen to float64 exactly
        assert torch.equal(own[name], module.state_dict()[name].to(own[name].dtype)), name
    with torch.no_grad():
        args = (batch.spin, batch.types, batch.edge_index, batch.edge_vec, batch.n_atoms)
        from_file, rebuilt = module(*args), model(*args)
    # TorchScript and eager PyTorch may order a sum differently (it depends on the BLAS
    # kernel: bitwise equal under Haswell, not under Sandybridge), so not bitwise here
    # a float32 file computes in single precision what the rebuilt model computes in
    # double precision with the same (rounded) numbers: 1e-5 of the scale (rounding 6e-8
    # of ~10^3 features summed into 64 units, forward and backward)
    tol = 1e-12 if meta["dtype"] == "float64" else 1e-5
    scale = float(from_file.abs().max())
    assert torch.allclose(from_file.double(), rebuilt, rtol=0, atol=tol * scale)
    fm = predict(model, batch, 1.0).fm
    assert torch.allclose(predict(module, batch, 1.0).fm.double(), fm, rtol=0, atol=tol * max(1.0, float(fm.abs().max())))
    # the file's tables matter: a model with freshly built tables and the same
    # weights gives other energies wherever the tables differ
    fresh = MLSpinModel(model.config)
    fresh.nets.load_state_dict(model.nets.state_dict())
    for name in SHARED_BUFFERS:
        getattr(fresh, name).copy_(getattr(model, name))
    if not all(torch.equal(v, fresh.descriptor.state_dict()[k]) for k, v in model.descriptor.state_dict().items()):
        with torch.no_grad():
            assert not torch.equal(fresh(*args), from_file)


def test_new_models_record_their_table_version(tmp_path):
    model = lattice_model("triangular", radius=2.0)
    assert int(model.descriptor.tables_version) == TABLES_VERSION == 2
    assert model.descriptor.summary["tables_version"] == 2
    meta = make_metadata(model, "lj", {}, {}, {}, "test")
    assert meta["descriptor_tables"] == 2
    assert "descriptor_tables" not in make_metadata(continuous_model(), "lj", {}, {}, {}, "test")


def test_state_dict_without_version_loads_as_version_1_with_its_own_tables():
    old = lattice_model("square", radius=2.0)
    state = old.state_dict()
    del state["descriptor.tables_version"]
    # another basis of the same invariants, as version 1 could have produced:
    # every irrep copy with the opposite sign
    state["descriptor.orb_u"] = -state["descriptor.orb_u"]
    loaded = lattice_model("square", radius=2.0, seed=1)
    loaded.load_state_dict(state)
    assert int(loaded.descriptor.tables_version) == 1
    assert loaded.descriptor.summary["tables_version"] == 1
    assert torch.equal(loaded.descriptor.orb_u, state["descriptor.orb_u"])
    batch = lattice_batch("square", old.cutoff)
    args = (batch.spin, batch.types, batch.edge_index, batch.edge_vec, batch.n_atoms)
    with torch.no_grad():
        x_old, x_loaded = old.descriptor(*args), loaded.descriptor(*args)
    # the linear features (A1 copies) change sign, the quadratic ones do not
    n_lin = old.descriptor.summary["features"]["linear"]
    n_pw = old.descriptor.summary["features"]["power"]
    assert torch.allclose(x_loaded[:, :n_lin], -x_old[:, :n_lin], rtol=0, atol=1e-12)
    assert torch.allclose(x_loaded[:, n_lin:n_lin + n_pw], x_old[:, n_lin:n_lin + n_pw], rtol=0, atol=1e-12)
    assert float((x_loaded[:, :n_lin] - x_old[:, :n_lin]).abs().max()) > 0.1
