"""potentials/common/locality.py reach: the resampled configurations and the
conditional-variance estimate (no LAMMPS needed)."""

import os
import sys

import numpy as np

COMMON = os.path.join(os.path.dirname(__file__), "..", "..", "potentials", "common")
sys.path.insert(0, os.path.abspath(COMMON))

from locality import conditional_spread, reach_configs  # noqa: E402
from make_configs import Generator, periodic_distance  # noqa: E402


def test_reach_configs_keep_the_spins_within_the_radius_and_resample_the_rest():
    gen = Generator("triangular", 10, ["tetra"], 3, 0.3, np.random.default_rng(3))
    radii = [1.0, 2.5]
    configs, labels = reach_configs(gen, "random", 2, radii, 3)
    assert len(configs) == 2 * (1 + len(radii) * 3)
    for k in range(2):
        rows = [i for i, lab in enumerate(labels) if lab[0] == k]
        base, c = configs[rows[0]], labels[rows[0]][1]
        assert labels[rows[0]][2] is None
        dist = periodic_distance(gen.xy, gen.xy[c], gen.cell)
        for i in rows[1:]:
            inside = dist <= labels[i][2] + 1e-9
            assert np.array_equal(configs[i][inside], base[inside])
            # fresh random directions outside: none equal to the base spin
            assert np.all(np.abs(configs[i][~inside] - base[~inside]).sum(1) > 1e-12)
            assert np.allclose(np.linalg.norm(configs[i], axis=1), 1.0)


def test_conditional_spread_estimates_the_variance_of_the_resampled_field():
    # fields at the center: configuration k has its own field; each copy resampled at
    # radius r adds independent noise of standard deviation sigma_r per component
    rng = np.random.default_rng(5)
    sigma = {2.0: 0.3, 4.0: 0.05}
    n_conf, n_samples, n_sites = 400, 4, 7
    fields, labels = [], []
    for k in range(n_conf):
        c = int(rng.integers(n_sites))
        mean = rng.normal(size=3) * 2.0
        h = np.zeros((n_sites, 3))
        h[c] = mean
        fields.append(h)
        labels.append((k, c, None))
        for r, s in sigma.items():
            for _ in range(n_samples):
                h = np.zeros((n_sites, 3))
                h[c] = mean + rng.normal(size=3) * s
                fields.append(h)
                labels.append((k, c, r))
    for r, s in sigma.items():
        spread = conditional_spread(fields, labels, r)
        assert len(spread) == n_conf
        err = spread.std(ddof=1) / np.sqrt(n_conf)
        # n_samples + 1 values, n_samples of them noisy: the unbiased variance has
        # expectation 3 s^2 n_samples / (n_samples + 1), whatever the fields
        expected = 3 * s * s * n_samples / (n_samples + 1)
        assert abs(spread.mean() - expected) < 4 * err
