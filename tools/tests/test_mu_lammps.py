"""A mu-aware model trained on pair_style sd/tb data, end to end with LAMMPS.

sd/tb (exact diagonalization, 4x4 square lattice) writes LLG snapshots at three
chemical potentials and one canonical run whose mu comes from `compute pair sd/tb`;
`mlspin-train train --mu-input` fits a small model; its file runs in pair_style mlspin
(`check`: 1 and 2 ranks at fixed mu, n_i against compute mlspin/electrons) and with
`filling f` conserves the electron number along an LLG run.

Needs build/lmp with the mlspin plugin (or MLSPIN_LMP=path); skipped otherwise, unless
MLSPIN_REQUIRE_LMP=1."""

import json
import os
import subprocess

import numpy as np
import pytest

from mlspin_train import toy_sd
from mlspin_train.check import FAIL, OK, check_model
from mlspin_train.cli import main
from mlspin_train.dataset import read_dataset
from mlspin_train.lammps import MPI_ENV, default_lmp, style_available

LMP = os.environ.get("MLSPIN_LMP", default_lmp())
MISSING = style_available(LMP, "pair", "sd/tb") or style_available(LMP, "pair", "mlspin")
if MISSING is not None and os.environ.get("MLSPIN_REQUIRE_LMP") == "1":
    raise RuntimeError(f"MLSPIN_REQUIRE_LMP=1 but the mu-model LAMMPS test cannot run: {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"needs pair_style sd/tb and mlspin: {MISSING}")

HAMILTONIAN = "hop 1.0 J 4.0 kT 0.2"
L = 4

LATTICE = f"""units lj
atom_style spin/lattice
boundary p p f
lattice sc 1.0
region box block 0 {{L}} 0 {{L}} -0.5 0.5
region plane block 0 {{L}} 0 {{L}} -0.1 0.1
create_box 1 box
create_atoms 1 region plane
mass 1 1.0
set group all spin/atom/random {{seed}} 1.0
timestep {0.02 / (2 * np.pi)}
"""

# the dataset format of doc/dataset_format.rst, with the local electron numbers (ne)
# and, for canonical runs, each snapshot's mu from compute pair sd/tb
SD_TB_RUN = LATTICE + """pair_style sd/tb {ham}
pair_coeff * *
fix llg all llg alpha 0.3 temp {temp} seed 77
compute spin all property/atom spx spy spz sp fmx fmy fmz
compute el all sd/tb/electrons
compute pp all pair sd/tb
dump data all custom 4 {name}.dump id type x y z c_spin[1] c_spin[2] c_spin[3] c_spin[4] &
     c_spin[5] c_spin[6] c_spin[7] c_el[1]
dump_modify data sort id format float %.16g colname 6 spx colname 7 spy colname 8 spz colname 9 sp &
     colname 10 fmx colname 11 fmy colname 12 fmz colname 13 ne
thermo_style custom step pe
thermo_modify norm no
print \"\"\"# units lj
# hbar $(1/(2*PI):%.17g)
# pair_style sd/tb {ham}\"\"\" file {name}.energy screen no
fix energy all print 4 "$(step) $(pe:%.16g) $(c_pp[2]:%.16g)" append {name}.energy screen no title "# step pe mu"
run 40
"""

ML_RUN = LATTICE + """pair_style mlspin filling {filling}
pair_coeff * * {model} site
fix llg all llg alpha 0.1 temp 0.05 seed 5
compute el all mlspin/electrons
compute ne all reduce sum c_el
thermo_style custom step pe c_el[1] c_el[2] c_ne
thermo_modify norm no format float %.17g
thermo 1
run 30
"""


def run_lammps(folder, script, name):
    path = os.path.join(folder, f"in.{name}")
    with open(path, "w") as fh:
        fh.write(script)
    res = subprocess.run([LMP, "-nocite", "-log", f"log.{name}", "-in", path], cwd=folder, capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, **MPI_ENV, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout


def thermo_rows(text):
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.split()[:1] == ["Step"])
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("Loop time"):
            break
        rows.append([float(v) for v in line.split()])
    return np.array(rows)


@pytest.fixture(scope="module")
def sd_tb_sets(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("sdtb_mu"))
    names = []
    runs = [("gc0", "mu -3.2", 3, 0.0), ("gc1", "mu -2.6", 4, 0.0), ("gc2", "mu -2.0", 5, 0.0), ("can", "filling 0.42", 6, 0.1)]
    for name, ensemble, seed, temp in runs:
        run_lammps(folder, SD_TB_RUN.format(L=L, seed=seed, ham=f"{HAMILTONIAN} {ensemble}", name=name, temp=temp), name)
        names.append(os.path.join(folder, name))
    return folder, names


def test_sd_tb_data_carry_mu_and_densities(sd_tb_sets):
    """The canonical run's mu column (compute pair sd/tb) and pe = F: F - mu N_e is the
    grand potential; the ne column sums to N_e = 2 f N; grand-canonical runs take
    their mu from the header."""
    folder, names = sd_tb_sets
    can = read_dataset(names[3])
    assert len(can.frames) == 11
    for f in can.frames:
        assert f.filling == 0.42 and -4.0 < f.mu < -1.0
        assert f.density.sum() == pytest.approx(2 * 0.42 * L * L, rel=1e-9)
        assert f.grand_potential() == pytest.approx(f.energy - f.mu * 2 * 0.42 * L * L, rel=1e-14)
    assert len({f.mu for f in can.frames}) > 1  # solved at every snapshot
    # an independent ED (numpy, tools' toy_sd) at the written mu: the same electron
    # number, densities and grand potential
    for f in can.frames[::5]:
        system = toy_sd.SDSystem(toy_sd.SDModel(hop=(1.0,), J=4.0, mu=f.mu, kT=0.2), f.positions, f.box)
        omega, _, density, _ = system.solve(f.spins)
        np.testing.assert_allclose(density, f.density, rtol=0, atol=1e-8)
        assert omega == pytest.approx(f.grand_potential(), rel=1e-10)
    gc = read_dataset(names[1])
    assert {f.mu for f in gc.frames} == {-2.6}
    assert gc.frames[0].density.sum() != pytest.approx(2 * 0.42 * L * L, rel=1e-3)


def test_trained_mu_model_runs_canonically_in_lammps(sd_tb_sets):
    """Train on three mu plus the canonical run, then: `check` against LAMMPS at fixed mu
    on 1 and 2 ranks (energies, fields, n_i of compute mlspin/electrons), and an LLG run
    with `filling f` whose electron number (compute mlspin/electrons, and the sum of its
    per-atom n_i) stays 2fN to 1e-10 at every step, with mu inside the trained range."""
    folder, names = sd_tb_sets
    out = os.path.join(folder, "fit")
    fast = ["--radius", "2", "--hidden", "16,16", "--batch-size", "4", "--threads", "1", "--quiet", "--seed", "0"]
    assert main(["train", names[0], names[2], names[3], "--valid", names[1], "--out", out, "--mu-input", "--epochs", "10"] + fast) == 0
    model = os.path.join(out, "model.pt")
    with open(os.path.join(out, "metrics.json")) as fh:
        assert "density" in json.load(fh)["validation"]
    results = check_model(model, data=names[1], lmp=LMP, ranks=(1, 2))
    lammps = [r for r in results if r.name.startswith("LAMMPS")]
    assert len(lammps) == 2 and all("n_i" in r.detail for r in lammps), [r.line() for r in results]
    assert all(r.status == OK for r in results if r.status == FAIL or r.name.startswith(("LAMMPS", "electron"))), [r.line() for r in results]

    lo, hi = read_dataset(names[0]).frames[0].mu, read_dataset(names[2]).frames[0].mu
    filling = 0.42
    rows = thermo_rows(run_lammps(folder, ML_RUN.format(L=L, seed=11, filling=filling, model=model), "ml"))
    target = 2 * filling * L * L
    assert len(rows) == 31
    np.testing.assert_allclose(rows[:, 2], target, rtol=1e-10, atol=0)  # N_e of the compute
    np.testing.assert_allclose(rows[:, 4], target, rtol=1e-10, atol=0)  # sum of its n_i
    assert np.all((rows[:, 3] >= lo) & (rows[:, 3] <= hi))
    assert np.ptp(rows[:, 3]) > 0  # mu follows the spins
