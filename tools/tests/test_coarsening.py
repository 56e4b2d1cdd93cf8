"""Domain-length estimators and the growth exponent of mlspin-analyze coarsening, on
fields whose growth law is known: a model-A (Allen-Cahn) simulation (n = 1/2, Bray,
Adv. Phys. 43, 357 (1994)) and synthetic domain patterns with a prescribed L(t) ~ t^n."""

import functools
import json
import math
import os

import numpy as np
import pytest

from mlspin_train import coarsening as co
from mlspin_train.analysis import (TETRAHEDRAL_CHIRALITY, domain_length, grid_chirality, reciprocal_lengths,
                                   structure_factor)
from mlspin_train.analyze_cli import main

SQRT3 = math.sqrt(3.0)
TETRAHEDRON = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / SQRT3


# ----------------------------------------------------------------------------
# fields with a known growth law


def model_a(size, times, seed, dt=0.5):
    """phi on a periodic size x size grid (spacing 1) under d phi/dt = lap phi + phi - phi^3
    from uniform noise in [-1, 1]: semi-implicit spectral Euler (Laplacian implicit,
    the rest explicit; stable and free of overshoot for dt <= 1/2). Snapshots at
    ``times``."""
    rng = np.random.default_rng(seed)
    phi = rng.uniform(-1.0, 1.0, (size, size))
    k = 2 * np.pi * np.fft.fftfreq(size)
    k_half = 2 * np.pi * np.fft.rfftfreq(size)
    implicit = 1.0 + dt * (k[:, None] ** 2 + k_half[None, :] ** 2)
    t, snapshots = 0.0, []
    for target in times:
        while t < target - 1e-9:
            phi = np.fft.irfft2(np.fft.rfft2(phi + dt * (phi - phi**3)) / implicit, s=phi.shape)
            t += dt
        snapshots.append(phi.copy())
    return snapshots


def flagship_like(n, seed, size=256, snapshots=24, xi=(1.5, 28.0)):
    """Up and down triangle chiralities of domains whose size grows as t^n exactly:
    the sign of a Gaussian random field of correlation length xi(t) = xi0 t^n (the same
    white noise, without its q = 0 part, filtered at every time), times an amplitude
    that rises from 0.3 to 1 of its final 0.68 chi_tetra, plus independent noise on
    every triangle that decays from 0.45 to 0.001: like the flagship, whose <|chi|>
    rises from 0.35 to 0.52 while its short-range noise decays. Returns (times,
    [(up, down), ...])."""
    rng = np.random.default_rng(seed)
    white = np.fft.fft2(rng.standard_normal((size, size)))
    white[0, 0] = 0.0
    q = reciprocal_lengths(size, size, "triangular")
    t_max = (xi[1] / xi[0]) ** (1.0 / n)
    times = np.geomspace(1.0, t_max, snapshots)
    out = []
    for t in times:
        u = math.log(t) / math.log(t_max)             # 0 .. 1 along the run
        domains = np.sign(np.fft.ifft2(white * np.exp(-0.25 * (q * xi[0] * t**n) ** 2)).real)
        amplitude = 0.68 * TETRAHEDRAL_CHIRALITY * (1.0 - 0.7 * math.exp(-8.0 * u))
        noise = 0.45 * math.exp(-6.0 * u)
        out.append(tuple(amplitude * domains + noise * rng.standard_normal(domains.shape) for _ in range(2)))
    return times, out


def runs_of(fields_per_run, times, lattice, amplitudes=None, raw_fields=None):
    """co.Runs of several runs given as order fields."""
    results = [co.analyse_field_series(f, lattice, None if amplitudes is None else amplitudes[k],
                                       None if raw_fields is None else raw_fields[k])
               for k, f in enumerate(fields_per_run)]
    return co.Runs(lattice, fields_per_run[0][0].shape, np.asarray(times, float),
                   np.array([r[0] for r in results]), {k: np.array([r[1][k] for r in results]) for k in co.ESTIMATORS},
                   np.array([r[2] for r in results]), results[0][3], np.array([r[4] for r in results]))


def write_dump(path, spins_series, steps, lattice, columns="spx", time_per_step=None, units=None):
    """A LAMMPS dump custom file of unit spins [T, L1, L2, 3] on a square or triangular
    (rhombic, xy-tilted) cell; spin columns 'spx spy spz' or 'c_sp[1] c_sp[2] c_sp[3]'
    (compute property/atom spx spy spz); atoms in shuffled order."""
    l1, l2 = spins_series[0].shape[:2]
    a2 = np.array([0.0, 1.0]) if lattice == "square" else np.array([0.5, SQRT3 / 2])
    m, n = np.meshgrid(np.arange(l1), np.arange(l2), indexing="ij")
    xy = 0.1 + m.ravel()[:, None] * np.array([1.0, 0.0]) + n.ravel()[:, None] * a2
    order = np.random.default_rng(5).permutation(l1 * l2)
    tilt = l2 * a2[0]
    names = "spx spy spz" if columns == "spx" else "c_sp[1] c_sp[2] c_sp[3]"
    with open(path, "w") as fh:
        for step, spins in zip(steps, spins_series):
            fh.write(f"ITEM: TIMESTEP\n{step}\n")
            if units:
                fh.write(f"ITEM: UNITS\n{units}\n")
            if time_per_step is not None:
                fh.write(f"ITEM: TIME\n{step * time_per_step!r}\n")
            fh.write(f"ITEM: NUMBER OF ATOMS\n{l1 * l2}\n")
            fh.write(f"ITEM: BOX BOUNDS xy xz yz pp pp ff\n0 {l1 + tilt} {tilt}\n0 {l2 * a2[1]} 0\n-0.5 0.5 0\n")
            fh.write(f"ITEM: ATOMS id type x y z {names}\n")
            s = spins.reshape(-1, 3)
            for k in order:
                fh.write(f"{k + 1} 1 {xy[k, 0]:.10g} {xy[k, 1]:.10g} 0 {s[k, 0]:.10g} {s[k, 1]:.10g} {s[k, 2]:.10g}\n")


def neel_spins(phi, seed=0):
    """Unit spins whose staggered z component is phi (clipped to [-1, 1]), the rest in a
    random direction in the xy plane (so that z is the only ordered axis)."""
    m, n = np.meshgrid(np.arange(phi.shape[0]), np.arange(phi.shape[1]), indexing="ij")
    u = np.clip(phi, -1.0, 1.0)
    eps = np.where((m + n) % 2 == 0, 1.0, -1.0)
    angle = np.random.default_rng(seed).uniform(0, 2 * np.pi, u.shape)
    rest = np.sqrt(1.0 - u**2)
    return eps[..., None] * np.stack([rest * np.cos(angle), rest * np.sin(angle), u], axis=-1)


def chiral_spins(phi):
    """Unit spins of the tetrahedral state with z components scaled by phi: every triangle's
    chirality has the sign of phi where phi is uniform (z -> -z mirrors the state)."""
    m, n = np.meshgrid(np.arange(phi.shape[0]), np.arange(phi.shape[1]), indexing="ij")
    s = TETRAHEDRON[(m % 2) + 2 * (n % 2)].copy()
    s[..., 2] *= phi
    return s / np.linalg.norm(s, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------
# estimators on patterns with exactly known lengths


def test_stripes_have_the_chord_length_of_their_width():
    for width in (4, 8):
        sign = np.where((np.arange(64) // width) % 2 == 0, 1.0, -1.0)[:, None] * np.ones((64, 64))
        # sign changes only across the stripes: one bond in 2 * width of the two directions is cut
        assert co.chord_length(sign, "square") == pytest.approx(2.0 * width)


def test_correlation_function_of_stripes_is_the_triangle_wave():
    width = 8
    sign = np.where((np.arange(64) // width) % 2 == 0, 1.0, -1.0)[:, None] * np.ones((64, 64))
    r, c = co.correlation_function(sign, "square", bin_width=1e-3)
    along_x = {0.0: 1.0, 2.0: 0.5, 4.0: 0.0, 8.0: -1.0}   # C(x) = 1 - x / 4 for 0 <= x <= 8
    for x, expected in along_x.items():
        # distance x holds offsets (x, 0) and (0, x): the latter always has C = 1
        k = np.argmin(np.abs(r - x))
        assert c[k] == pytest.approx(0.5 * (expected + 1.0))


def test_amplitude_does_not_move_the_estimators_but_moves_the_old_one():
    times, tri = flagship_like(0.5, seed=2, size=96, snapshots=4)
    up, down = tri[-1]
    field = co.site_chirality(up, down)
    assert co.domain_lengths(0.3 * field, "triangular") == co.domain_lengths(field, "triangular")  # same signs
    # the old estimator: with the same short-range noise, a lower amplitude of the
    # domains reads as shorter domains
    noise = 0.1 * np.random.default_rng(1).standard_normal(up.shape)
    high = co.first_moment_length(0.5 * (up + down) + noise, "triangular")
    low = co.first_moment_length(0.3 * 0.5 * (up + down) + noise, "triangular")
    assert low < 0.9 * high


def test_site_chirality_averages_the_six_triangles_around_each_site():
    rng = np.random.default_rng(0)
    up, down = rng.standard_normal((2, 5, 6))
    site = co.site_chirality(up, down)
    m, n = 2, 3
    corners = [up[m, n], up[m - 1, n], up[m, n - 1], down[m - 1, n], down[m - 1, n - 1], down[m, n - 1]]
    assert site[m, n] == pytest.approx(np.mean(corners))


def test_image_distances_and_box_of_the_triangular_torus():
    r = co.image_distances((8, 8), "triangular")
    assert r[1, 0] == pytest.approx(1.0) and r[0, 1] == pytest.approx(1.0)
    assert r[1, 7] == pytest.approx(1.0)                  # a1 - a2 is a nearest neighbour
    assert r[7, 7] == pytest.approx(SQRT3)                # -(a1 + a2)
    assert co.periodic_length((8, 8), "triangular") == pytest.approx(8.0)
    assert co.periodic_length((6, 10), "square") == pytest.approx(6.0)


# ----------------------------------------------------------------------------
# growth exponents of patterns with a prescribed L(t) = c t^n


@functools.lru_cache(maxsize=2)
def flagship_like_runs(n, seeds=4):
    """co.Runs of the synthetic flagship-like patterns; the old estimator of the
    up-down mean of the raw chirality, as analysis.triangular_order and read_run take it."""
    fields, amplitudes, raw = [], [], []
    for seed in range(seeds):
        times, tri = flagship_like(n, seed)
        fields.append([co.site_chirality(up, down) for up, down in tri])
        amplitudes.append([0.5 * (np.abs(up).mean() + np.abs(down).mean()) for up, down in tri])
        raw.append([0.5 * (up + down) for up, down in tri])
    return runs_of(fields, times, "triangular", amplitudes, raw)


@pytest.mark.parametrize("n", [0.5, 1.0])
def test_both_estimators_recover_the_prescribed_exponent(n):
    """Window by the tool's criteria; the error bar is the spread over 4 seeds (each a
    different domain pattern), so |n_est - n| < 3 err tests the estimator against its
    own statistical uncertainty; < 0.1 bounds it in absolute terms."""
    result = co.analyse(flagship_like_runs(n))
    for name in co.ESTIMATORS:
        e = result["estimators"][name]
        assert e["snapshots_in_window"] >= 4
        assert abs(e["exponent"] - n) < 3 * e["exponent_err"], (name, e)
        assert abs(e["exponent"] - n) < 0.1, (name, e)


@pytest.mark.parametrize("n", [0.5, 1.0])
def test_old_first_moment_estimator_fails_on_the_same_patterns(n):
    """The issue's point: 2 pi / <|q|> of the raw field (whole Brillouin zone) mixes the
    domains with the amplitude, the noise and the walls' q^-3 tail: on the same runs,
    window and error model as above it is not consistent with the true exponent."""
    e = co.analyse(flagship_like_runs(n))["estimators"]["first_moment"]
    assert abs(e["exponent"] - n) > 3 * e["exponent_err"], e


# ----------------------------------------------------------------------------
# window and fit


def test_window_starts_when_the_amplitude_has_saturated_and_l_doubled_and_ends_before_the_box():
    times = np.arange(1.0, 21.0)
    amplitude = np.minimum(times / 10.0, 1.0)        # saturates at t = 10
    length = 2.0 * times                             # L_C(t_f = 9) = 18, doubled at t = 18
    w = co.choose_window(times, amplitude, length, box=16 * 39.0, growth=1.0)
    assert (w.t0, w.t1) == (9.0, 19.0)               # 0.9 of the plateau 1 at t = 9; L = 40 > 39 at t = 20
    w = co.choose_window(times, amplitude, length, box=1000.0, growth=2.0)
    assert w.t0 == 18.0 and w.t1 == 20.0
    w = co.choose_window(times, times / 10.0, length, box=1000.0, saturation=2.0, growth=1.0)
    assert w.t0 == 18.0                              # 0.9 x 2 reached at t = 18
    with pytest.raises(co.CoarseningError, match="fewer than 3"):
        co.choose_window(times, amplitude, length, box=16 * 30.0)


def test_amplitude_that_never_saturates_is_an_error():
    times = np.arange(1.0, 11.0)
    with pytest.raises(co.CoarseningError, match="never stays"):
        co.choose_window(times, np.ones(10), np.ones(10), box=100.0, saturation=2.0)


def test_power_law_fit_and_its_error():
    t = np.geomspace(1, 100, 12)
    n, err = co.fit_power_law(t, 3.0 * t**0.7)
    assert n == pytest.approx(0.7) and err == pytest.approx(0.0, abs=1e-12)
    wiggle = np.exp(0.05 * np.sin(np.arange(12)))
    n, err = co.fit_power_law(t, 3.0 * t**0.7 * wiggle)
    slope = np.polyfit(np.log(t), np.log(3.0 * t**0.7 * wiggle), 1)[0]
    assert n == pytest.approx(slope) and 0 < err < 0.05


def test_exponent_error_is_the_sem_over_runs_or_the_fit_error_for_one_run():
    t = np.geomspace(1, 100, 8)
    runs = np.array([t**0.4, t**0.5, t**0.6])
    w = co.Window(1.0, 100.0, "test")
    e = co.growth_exponent(t, runs, w)
    assert e["exponent"] == pytest.approx(0.5)
    assert e["exponent_err"] == pytest.approx(0.1 / math.sqrt(3))
    single = co.growth_exponent(t, runs[:1] * np.exp(0.01 * np.cos(np.arange(8))), w)
    assert "1 run" in single["error_kind"] and single["exponent_err"] > 0


# ----------------------------------------------------------------------------
# reading dumps and the command line


def stripes(size, width, shift=0):
    m = np.arange(size)[:, None] + np.zeros((1, size))
    return np.where(((m + shift) // width) % 2 == 0, 0.8, -0.8)


def test_reader_reads_both_spin_column_conventions_and_lj_time(tmp_path):
    series = [chiral_spins(stripes(12, w)) for w in (2, 3, 6)]
    a, b = tmp_path / "a.dump", tmp_path / "b.dump"
    write_dump(a, series, [0, 100, 200], "triangular", "spx", time_per_step=0.01, units="lj")
    write_dump(b, series, [0, 100, 200], "triangular", "compute", time_per_step=0.01, units="lj")
    ra, rb = co.read_run(str(a), "triangular", quiet=True), co.read_run(str(b), "triangular", quiet=True)
    assert ra.shape == (12, 12)
    assert ra.times == pytest.approx(2 * np.pi * 0.01 * np.array([0, 100, 200]))   # lj time x 2 pi = hbar/t
    assert "hbar/t" in ra.time_unit
    for k in co.ESTIMATORS:
        assert np.array_equal(ra.lengths[k], rb.lengths[k])
    # stripes of width w across a1: the six-triangle field changes sign once per stripe
    # edge, so bonds along a1 and a1 - a2 are cut with probability 1/w, along a2 never
    assert ra.lengths["chord"] == pytest.approx([1.5 * 2, 1.5 * 3, 1.5 * 6])
    # the comparison column is the old tool's number (analysis.triangular_order)
    for spins, old in zip(series, ra.first_moment):
        up, down = grid_chirality(spins)
        assert old == domain_length(structure_factor(0.5 * (up + down)), reciprocal_lengths(12, 12, "triangular"))
    assert co.read_run(str(a), "triangular", dt=0.5, quiet=True).times == pytest.approx([0, 50, 100])


def test_dump_without_time_uses_steps(tmp_path):
    path = tmp_path / "c.dump"
    write_dump(path, [neel_spins(stripes(8, 2))] * 2, [10, 20], "square")
    run = co.read_run(str(path), "square", quiet=True)
    assert run.times.tolist() == [10.0, 20.0] and run.time_unit == "steps"


def test_dump_without_spins_is_a_clear_error(tmp_path):
    path = tmp_path / "nospin.dump"
    path.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n0 1\n0 1\n0 1\n"
                    "ITEM: ATOMS id type x y z vx vy vz\n1 1 0 0 0 1 0 0\n")
    with pytest.raises(co.CoarseningError, match="no spin columns.*spx spy spz.*c_ID"):
        co.read_run(str(path), "square", quiet=True)
    assert main(["coarsening", "--lattice", "square", "--quiet", str(path)]) == 2


def test_wrong_lattice_and_mixed_lattices_are_clear_errors(tmp_path):
    tri, sq, big = tmp_path / "tri.dump", tmp_path / "sq.dump", tmp_path / "big.dump"
    write_dump(tri, [chiral_spins(stripes(8, 2))] * 3, [1, 2, 3], "triangular")
    write_dump(sq, [neel_spins(stripes(8, 2))] * 3, [1, 2, 3], "square")
    write_dump(big, [neel_spins(stripes(10, 2))] * 3, [1, 2, 3], "square")
    with pytest.raises(co.CoarseningError, match="not those of a square lattice"):
        co.read_run(str(tri), "square", quiet=True)
    runs = [co.read_run(str(p), "square", quiet=True) for p in (sq, big)]
    with pytest.raises(co.CoarseningError, match="different lattices.*8 x 8.*10 x 10"):
        co.combine_runs(runs)


def test_cli_end_to_end_on_model_a_written_as_a_neel_dump(tmp_path):
    """Model-A fields written as spins whose staggered z component is phi: the tool's
    per-run lengths are those of the plaquette field built directly from the spins
    (reading, site order, grid and time are right), and JSON and plot are written."""
    times = [2.0, 4.0, 8.0, 16.0, 32.0]
    paths, direct = [], []
    for seed in range(2):
        spins = [neel_spins(phi) for phi in model_a(48, times, seed)]
        path = tmp_path / f"run{seed}.dump"
        write_dump(path, spins, [int(t / 0.5) for t in times], "square", "compute" if seed else "spx")
        paths.append(str(path))
        direct.append([co.domain_lengths(co.plaquette_order(s), "square") for s in spins])
    out_json, out_png = tmp_path / "L.json", tmp_path / "L.png"
    assert main(["coarsening", "--lattice", "square", "--dt", "0.5", "--window", "3", "40", "--quiet",
                 "--json", str(out_json), "--plot", str(out_png)] + paths) == 0
    result = json.loads(out_json.read_text())
    assert result["times"] == times and result["runs"] == paths
    for name in co.ESTIMATORS:
        e = result["estimators"][name]
        assert {"exponent", "exponent_err", "window", "table"} <= set(e)
        assert e["window"] == [4.0, 32.0]
        for run in range(2):
            assert e["table"]["per_run"][run] == pytest.approx([d[name] for d in direct[run]], rel=1e-12)
        assert e["table"]["mean"] == pytest.approx(np.mean(e["table"]["per_run"], axis=0).tolist())
    assert out_png.stat().st_size > 10000


# ----------------------------------------------------------------------------
# model A (Allen-Cahn): L ~ t^(1/2), Bray section 4


def model_a_runs(size, seeds, t_max, snapshots=20):
    times = np.unique(np.round(np.geomspace(4.0, t_max, snapshots) * 2) / 2)    # multiples of dt = 1/2
    return runs_of([model_a(size, times, seed) for seed in seeds], times, "square")


def test_model_a_square_length_grows_linearly_in_time():
    """Allen-Cahn in its exact form: after the domains have formed, L^2 = L_f^2 + c t
    (curvature-driven walls, Bray eq. 4.5-4.7): the growth rate of L^2 is the same in the
    two halves of the range, for both estimators. A law L ~ t^n with n = 1 would make the
    second rate several times the first (or, with n = 1/4, a fraction of it). Small and
    fast (256^2, t <= 200, L_C <= box / 16); the exponent itself needs a larger system,
    see the next test."""
    runs = model_a_runs(256, seeds=(0, 1), t_max=200.0, snapshots=14)
    amplitude = runs.amplitude.mean(axis=0)
    formed = np.nonzero(amplitude >= co.AMPLITUDE_FRACTION * amplitude[-1])[0][0]
    t = runs.times[formed:]
    middle = len(t) // 2
    for name in co.ESTIMATORS:
        l2 = runs.lengths[name].mean(axis=0)[formed:] ** 2
        early = (l2[middle] - l2[0]) / (t[middle] - t[0])
        late = (l2[-1] - l2[middle]) / (t[-1] - t[middle])
        assert 0.8 < late / early < 1.25, (name, early, late)


@pytest.mark.skipif(os.environ.get("MLSPIN_SLOW_TESTS") != "1", reason="about 1-2 minutes; set MLSPIN_SLOW_TESTS=1")
def test_model_a_exponent_is_one_half_with_the_tools_window():
    """Two 512^2 runs to t = 1000, window by the tool's default criteria: n = 1/2 +- 0.05
    by both estimators. On smaller systems the window cannot start late enough after
    domain formation: L^2 = L_f^2 + c t lowers the apparent exponent (0.40-0.45 measured
    on 256^2 and 384^2 with the window starting at formation)."""
    result = co.analyse(model_a_runs(512, seeds=(0, 1), t_max=1000.0))
    for name in co.ESTIMATORS:
        e = result["estimators"][name]
        assert abs(e["exponent"] - 0.5) < 0.05, (name, e)
        assert abs(e["exponent"] - 0.5) < 3 * e["exponent_err"], (name, e)


def test_script_entry_point_and_help():
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mlspin-analyze")
    done = subprocess.run([sys.executable, script, "coarsening", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--lattice" in done.stdout and "--window" in done.stdout
