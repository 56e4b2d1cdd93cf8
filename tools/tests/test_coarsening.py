"""Domain-length estimators and the growth exponent of mlspin-analyze coarsening, on
fields whose growth law is known: a model-A (Allen-Cahn) simulation (n = 1/2, Bray,
Adv. Phys. 43, 357 (1994)) and synthetic domain patterns with a prescribed L(t) ~ t^n."""

import json
import math

import numpy as np
import pytest

from mlspin_train import coarsening as co
from mlspin_train.analysis import TETRAHEDRAL_CHIRALITY, reciprocal_lengths
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


def flagship_like(n, seed, size=192, snapshots=16, xi=(1.5, 36.0)):
    """Up and down triangle chiralities of domains whose size grows as t^n exactly:
    the sign of a Gaussian random field of correlation length xi(t) = xi0 t^n (the same
    white noise, without its q = 0 part, filtered at every time), times an amplitude
    that rises from 0.3 to 1 of its final 0.68 chi_tetra, plus independent noise on
    every triangle that decays from 0.45 to 0.008: like the flagship, whose <|chi|>
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
        amplitude = 0.68 * TETRAHEDRAL_CHIRALITY * (1.0 - 0.7 * math.exp(-5.0 * u))
        noise = 0.45 * math.exp(-4.0 * u)
        out.append(tuple(amplitude * domains + noise * rng.standard_normal(domains.shape) for _ in range(2)))
    return times, out


def runs_of(fields_per_run, times, lattice, amplitudes=None):
    """co.Runs of several runs given as order fields."""
    results = [co.analyse_field_series(f, lattice, None if amplitudes is None else amplitudes[k])
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


def neel_spins(phi):
    """Unit spins whose staggered z component is phi (clipped to [-1, 1])."""
    m, n = np.meshgrid(np.arange(phi.shape[0]), np.arange(phi.shape[1]), indexing="ij")
    u = np.clip(phi, -1.0, 1.0)
    eps = np.where((m + n) % 2 == 0, 1.0, -1.0)
    return eps[..., None] * np.stack([np.sqrt(1.0 - u**2), np.zeros_like(u), u], axis=-1)


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


def test_amplitude_and_sign_noise_do_not_move_the_estimators():
    rng = np.random.default_rng(1)
    times, tri = flagship_like(0.5, seed=2, size=96, snapshots=4)
    up, down = tri[-1]
    field = co.site_chirality(up, down)
    lengths = co.domain_lengths(field, "triangular")
    assert co.domain_lengths(0.1 * field, "triangular") == lengths         # phi -> a phi: same signs
    # the old estimator moves when noise is added at fixed domains; the sign estimators
    # of the six-triangle field do not (no sign flips at this noise level)
    noisy = co.site_chirality(up + 0.05 * rng.standard_normal(up.shape), down + 0.05 * rng.standard_normal(up.shape))
    assert np.array_equal(co.sign_field(noisy), co.sign_field(field))
    assert co.first_moment_length(0.5 * (up + down), "triangular") != pytest.approx(
        co.first_moment_length(0.5 * (up + down) + 0.3 * rng.standard_normal(up.shape), "triangular"), rel=0.05)


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
