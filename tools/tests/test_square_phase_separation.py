"""examples/ml_square_phase_separation: the cluster finder of analyze.py on spin patterns
with known clusters, and the example input run canonically in LAMMPS (a few steps with the
analytic contract-2 model canonical.pt of unittest/models/make_test_models.py).

The LAMMPS part needs build/lmp with the mlspin plugin (or MLSPIN_LMP=path); it is skipped
otherwise, and fails instead with MLSPIN_REQUIRE_LMP=1."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mlspin_train.lammps import MPI_ENV, default_lmp, style_available

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "ml_square_phase_separation")
LMP = os.environ.get("MLSPIN_LMP", default_lmp())


def load_analyze():
    spec = importlib.util.spec_from_file_location("square_ps_analyze", os.path.join(EXAMPLE, "analyze.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


analyze = load_analyze()

# ---------------------------------------------------------------- synthetic patterns

L = 24


def neel(direction):
    """(-1)^(x+y) direction on the L x L torus: +direction on even sites."""
    x, y = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    return ((-1.0) ** (x + y))[..., None] * np.asarray(direction)[None, None, :]


def put_square(spins, x0, y0, side, direction):
    """A ferromagnetic square of side x side sites from (x0, y0), periodic."""
    for dx in range(side):
        for dy in range(side):
            spins[(x0 + dx) % L, (y0 + dy) % L] = direction


def test_local_order_of_perfect_states():
    e = np.array([0.0, 0.6, 0.8])
    n, f = analyze.local_order(neel(e))
    np.testing.assert_allclose(n, 1.0, atol=1e-14)
    np.testing.assert_allclose(f, 0.0, atol=1e-14)
    n, f = analyze.local_order(np.broadcast_to(e, (L, L, 3)).copy())
    np.testing.assert_allclose(n, 0.0, atol=1e-14)
    np.testing.assert_allclose(f, 1.0, atol=1e-14)


def square_sites(x0, y0, side):
    return {((x0 + dx) % L, (y0 + dy) % L) for dx in range(side) for dy in range(side)}


@pytest.mark.parametrize("flip", [False, True])
def test_clusters_of_two_squares(flip):
    """Two FM squares of known areas in a Neel background, one wrapping the periodic
    boundary: two clusters with exactly their sites, the weighted size and the hole
    fraction in clusters. flip: the same pattern with every spin reversed (time reversal)."""
    e = np.array([0.36, -0.48, 0.8])
    spins = neel(e)
    # Odd sides, corners on the sublattice whose Neel spin is opposite to the square's:
    # then exactly the square's sites have F_i > N_i (a corner has its two outside
    # neighbours along its spin: F = 1; an edge site has >= 3 aligned neighbours:
    # F >= 3/4 > N; an outside site next to an edge has N >= 3/4 > F).
    # square 1: along -e, corners on even sites (Neel +e); square 2: along +e, corners
    # on odd sites (Neel -e), across both periodic boundaries
    put_square(spins, 8, 8, 5, -e)
    put_square(spins, L - 3, L - 2, 7, e)
    if flip:
        spins = -spins
    n_order, f_order = analyze.local_order(spins)
    labels, areas = analyze.label_clusters(analyze.fm_mask(n_order, f_order))
    assert sorted(areas.tolist()) == [25, 49]
    expected = [square_sites(8, 8, 5), square_sites(L - 3, L - 2, 7)]
    found = [{tuple(p) for p in np.argwhere(labels == c)} for c in range(len(areas))]
    assert sorted(found, key=len) == expected
    # crossing the boundaries is not winding around the torus
    assert not analyze.wrapping(labels, len(areas)).any()
    count, weighted, radius = analyze.cluster_sizes(areas)
    assert count == 2
    assert weighted == pytest.approx((25 ** 2 + 49 ** 2) / (25 + 49), rel=1e-14)
    assert radius == pytest.approx(np.sqrt(weighted), rel=1e-14)
    assert analyze.cluster_sizes(areas, min_area=30)[:2] == (1, 49.0)
    assert analyze.cluster_sizes(areas, min_area=50)[0] == 0
    # holes: 0.2 per FM site, none in the Neel background -> all holes in the clusters;
    # with one electron too many on every Neel site the hole sum is zero
    n = np.ones((L, L))
    n[labels >= 0] = 0.8
    holes, spread, inside = analyze.hole_summary(n, labels >= 0)
    assert holes == pytest.approx(0.2 * 74 / L ** 2, rel=1e-12)
    assert inside == pytest.approx(1.0, rel=1e-12)
    assert spread == pytest.approx(np.std(n), rel=1e-12)


def test_threshold_and_a_stripe():
    """A collinear stripe has F_i = N_i = 1/2: no FM site at threshold 0, all at -0.1;
    one cluster covering the torus then, of area L^2."""
    x = np.arange(L)[:, None, None] * np.ones((1, L, 1))
    spins = ((-1.0) ** x) * np.array([1.0, 0.0, 0.0])
    n_order, f_order = analyze.local_order(spins)
    np.testing.assert_allclose(n_order, 0.5, atol=1e-14)
    np.testing.assert_allclose(f_order, 0.5, atol=1e-14)
    assert not analyze.fm_mask(n_order, f_order).any()
    labels, areas = analyze.label_clusters(analyze.fm_mask(n_order, f_order, threshold=-0.1))
    assert areas.tolist() == [L * L]
    assert analyze.wrapping(labels, 1).tolist() == [True]


def test_winding_clusters():
    """A band across the whole lattice in x winds around the torus, so does a diagonal
    staircase; a ring-shaped cluster (holes inside) that crosses both boundaries and
    a band with one gap do not."""
    band = np.zeros((L, L), dtype=bool)
    band[:, 5:8] = True
    gap = band.copy()
    gap[10, 5:8] = False
    ring = np.zeros((L, L), dtype=bool)
    for k in range(-4, 5):
        for m in (-4, 4):
            ring[k % L, m % L] = ring[m % L, k % L] = True
    stairs = np.zeros((L, L), dtype=bool)
    for k in range(L):
        stairs[k, k] = stairs[(k + 1) % L, k] = True
    for mask, winds in ((band, True), (gap, False), (ring, False), (stairs, True)):
        labels, areas = analyze.label_clusters(mask)
        assert len(areas) == 1
        assert analyze.wrapping(labels, 1).tolist() == [winds]


def test_single_sites_and_diagonal_neighbours_are_separate_clusters():
    """4-neighbour connectivity: diagonal neighbours are not connected; the wrap along
    one axis joins sites 0 and L-1."""
    mask = np.zeros((L, L), dtype=bool)
    mask[2, 2] = mask[3, 3] = True          # diagonal: two clusters
    mask[0, 10] = mask[L - 1, 10] = True    # across the x boundary: one
    labels, areas = analyze.label_clusters(mask)
    assert sorted(areas.tolist()) == [1, 1, 2]
    assert labels[0, 10] == labels[L - 1, 10] != labels[2, 2]


# ---------------------------------------------------------------- the example in LAMMPS

MISSING = style_available(LMP, "pair", "mlspin") or style_available(LMP, "compute", "mlspin/electrons")
FILLING = 0.485
SIDE = 16


def require_lammps():
    if MISSING is None:
        return
    if os.environ.get("MLSPIN_REQUIRE_LMP") == "1":
        pytest.fail(f"MLSPIN_REQUIRE_LMP=1 but the example cannot run: {MISSING}")
    pytest.skip(f"needs pair_style mlspin and compute mlspin/electrons: {MISSING}")


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    require_lammps()
    folder = str(tmp_path_factory.mktemp("square_ps"))
    make = os.path.join(ROOT, "unittest", "models", "make_test_models.py")
    res = subprocess.run([sys.executable, make, folder], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stderr[-2000:]
    args = [LMP, "-nocite", "-log", "log.can", "-in", os.path.join(EXAMPLE, "in.ml_square_phase_separation"),
            "-var", "L", str(SIDE), "-var", "steps", "12", "-var", "every", "3", "-var", "name", "can",
            "-var", "model", os.path.join(folder, "canonical.pt"), "-var", "species", "A",
            "-var", "ens", f"filling {FILLING}"]
    res = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, **MPI_ENV, OMP_NUM_THREADS="1"))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return folder, res.stdout


def thermo_rows(text):
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.split()[:1] == ["Step"])
    header = lines[start].split()
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("Loop time"):
            break
        rows.append([float(v) for v in line.split()])
    return header, np.array(rows)


def test_example_conserves_electrons(example_run):
    """N_e = 2fN to 1e-10 relative at every thermo line (log and NAME.thermo), mu changing
    as the spins relax."""
    folder, stdout = example_run
    header, rows = thermo_rows(stdout)
    assert header == ["Step", "v_t", "PotEng", "c_el[2]", "c_el[1]", "c_neel", "c_fm"]
    target = 2 * FILLING * SIDE * SIDE
    assert len(rows) == 5
    np.testing.assert_allclose(rows[:, 4], target, rtol=1e-10, atol=0)
    np.testing.assert_allclose(rows[:, 1], rows[:, 0] * 0.1, rtol=1e-12)
    assert np.ptp(rows[:, 3]) > 1e-3
    table = np.loadtxt(os.path.join(folder, "can.thermo"), ndmin=2)
    np.testing.assert_array_equal(table[:, 0], rows[:, 0])
    np.testing.assert_allclose(table[:, 4], target, rtol=1e-10, atol=0)


def test_example_dump_feeds_analyze(example_run, monkeypatch):
    """The dump has the columns analyze.py reads; its N_i, F_i are those of analyze's own
    local_order of the dumped spins, its n_i sum to 2fN; analyze.py runs on it."""
    folder, _ = example_run
    snapshots = list(analyze.read_dump(os.path.join(folder, "can.dump")))
    assert [s[0] for s in snapshots] == [0, 3, 6, 9, 12]
    for step, lengths, columns, origin in snapshots:
        assert set(analyze.COLUMNS) <= set(columns)
        grids = analyze.to_grid(columns, lengths, origin)
        spins = np.stack([grids["spx"], grids["spy"], grids["spz"]], -1)
        n_order, f_order = analyze.local_order(spins / np.linalg.norm(spins, axis=-1, keepdims=True))
        np.testing.assert_allclose(grids["neel"], n_order, atol=2e-5)   # dump: 6 digits
        np.testing.assert_allclose(grids["fm"], f_order, atol=2e-5)
        assert grids["n"].sum() == pytest.approx(2 * FILLING * SIDE * SIDE, rel=1e-5)
    monkeypatch.chdir(folder)
    assert analyze.main(["can.dump", "--labels", "canonical", "--prefix", "out"]) == 0
    with open("out.json") as fh:
        run = json.load(fh)["runs"][0]
    assert [r["step"] for r in run["snapshots"]] == [0, 3, 6, 9, 12]
    assert all(r["N_e"] == pytest.approx(2 * FILLING * SIDE * SIDE, rel=1e-10) for r in run["snapshots"])
    assert all(r["hole_density"] == pytest.approx(1 - 2 * FILLING, abs=1e-5) for r in run["snapshots"])
    for name in ("out_growth.png", "out_maps_canonical.png"):
        assert os.path.getsize(name) > 1000


def test_run_script_with_auto_mu(example_run, tmp_path):
    """run.sh on 8 x 8, one rank: the canonical run, then the fixed-mu run at the mean mu
    of the canonical run's second half (MU=auto), then analyze.py; a second call repeats
    nothing."""
    folder, _ = example_run
    env = dict(os.environ, **MPI_ENV, OMP_NUM_THREADS="1", L="8", STEPS="8", EVERY="2", NP="1",
               MU="auto", MODEL=os.path.join(folder, "canonical.pt"), SPECIES="A", LMP=LMP, OUT=str(tmp_path))
    script = os.path.join(EXAMPLE, "run.sh")
    res = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    canonical = np.loadtxt(tmp_path / f"canonical_f{FILLING}.thermo", ndmin=2)
    mu = f"{canonical[len(canonical) // 2:, 3].mean():.6f}"
    fixed = np.loadtxt(tmp_path / f"mu{mu}.thermo", ndmin=2)
    assert len(canonical) == len(fixed) == 5
    np.testing.assert_allclose(canonical[:, 4], 2 * FILLING * 64, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(fixed[:, 3], float(mu))
    assert np.ptp(fixed[:, 4]) > 0  # at fixed mu the electron number is not conserved
    with open(tmp_path / "square_ps.json") as fh:
        assert [r["label"] for r in json.load(fh)["runs"]] == [f"canonical_f{FILLING}", f"mu{mu}"]
    again = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and again.stdout.count("already done") == 2, again.stdout[-2000:]
