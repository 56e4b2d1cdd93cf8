"""Domain coarsening: domain lengths that do not depend on the order amplitude.

After a quench, domains of the two signs of an Ising-like order parameter (the scalar
chirality of the triangular lattice, the staggered magnetisation of an easy-axis square
lattice) grow as L(t) ~ t^n: n = 1/2 for non-conserved, curvature-driven coarsening
(Allen-Cahn, model A), see A. J. Bray, Adv. Phys. 43, 357 (1994). The first moment of
the structure factor of the *raw* order field (``analysis.domain_length``) mixes the
domain size with the growth of the order amplitude inside the domains and with the decay
of short-range noise. The estimators here look only at the *sign* of the order field,
sigma = sign(phi): a sign does not change when the amplitude does, so
phi -> a(t) phi leaves every estimator unchanged, exactly.

Estimators (lengths in lattice constants):

``correlation``
    Bray's definition through the equal-time correlation function of the sign field,
    C(r) = (<sigma(x) sigma(x + r)> - <sigma>^2) / (1 - <sigma>^2), averaged over
    directions; L_C is the distance where C falls to 1/2. In the scaling regime
    C(r, t) = f(r / L(t)), so any fixed level gives a length proportional to L(t). The
    level 1/2 and not the first zero: for non-conserved order C has no zero (Ohta,
    Jasnow and Kawasaki's f = (2/pi) arcsin exp(-r^2/L^2), Bray section 5); a zero then
    only comes from the finite box.
``chord``
    The mean chord length L_W = 1 / p, p the fraction of nearest-neighbour bonds whose two
    ends have opposite signs: the mean distance between sign changes along lattice rows.
    By Crofton's formula a unit segment of random position and direction crosses walls of
    length rho per unit area with probability 2 rho / pi, so p = 2 rho / pi and
    L_W = pi / (2 rho): the inverse wall density, measured without tracing walls. For
    stripes of width w, L_W = w along the normal, pi w / 2 averaged over directions.

Both count a sign flip by short-range noise as a tiny domain; the order fields are
therefore local averages over a few sites (six triangles around a site, a 2 x 2
plaquette), which removes isolated flips without moving a wall by more than a lattice
constant, and the fit window starts only once the amplitude has nearly saturated.

The fit window (``choose_window``) and its measured justification are described in
doc/analysis.rst: domains formed (amplitude >= 90 % of its plateau), L_C doubled since
then, L_C <= box / 16. n is the mean of one least-squares fit of ln L on ln t per run,
with the standard error over runs.
"""

from __future__ import annotations

import functools
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .analysis import domain_length, grid_chirality, reciprocal_lengths, site_grid, structure_factor
from .dataset import Box, DataError, Frame, read_dump_tables
SQRT3 = math.sqrt(3.0)
# primitive vectors a1, a2 (rows, lattice constant 1) of the supported lattices; the site
# grid (m, n) sits at m a1 + n a2, as in analysis.site_grid and analysis.triangle_chirality
LATTICE_VECTORS = {
    "square": np.array([[1.0, 0.0], [0.0, 1.0]]),
    "triangular": np.array([[1.0, 0.0], [0.5, SQRT3 / 2]]),
}
ESTIMATORS = ("correlation", "chord")
AMPLITUDE_FRACTION = 0.9      # domains have formed when the amplitude reaches 90 % of its saturation,
GROWTH_SINCE_FORMATION = 2.0  # the window starts once L_C has doubled since then
BOX_FRACTION = 1.0 / 16.0     # and ends before L_C exceeds 1/16 of the shortest box period
PLATEAU_SPAN = 0.1            # plateau: mean amplitude over the last 10 % of the time span


class CoarseningError(ValueError):
    """Input the coarsening analysis cannot use (the message says why and what to do)."""


# ----------------------------------------------------------------------------
# order fields on the site grid


def site_chirality(chi_up: np.ndarray, chi_down: np.ndarray) -> np.ndarray:
    """Mean chirality of the six triangles around each site (m, n) of a triangular grid.

    With analysis.triangle_chirality's labels, site (m, n) is a corner of the up
    triangles (m, n), (m-1, n), (m, n-1) and of the down triangles (m-1, n),
    (m-1, n-1), (m, n-1). Averaging six triangles removes the sign flips of single
    noisy triangles, which would otherwise count as domains."""
    def shifted(f, dm, dn):          # value of f at (m - dm, n - dn), stored at (m, n)
        return np.roll(np.roll(f, dm, axis=0), dn, axis=1)
    ups = chi_up + shifted(chi_up, 1, 0) + shifted(chi_up, 0, 1)
    downs = shifted(chi_down, 1, 0) + shifted(chi_down, 1, 1) + shifted(chi_down, 0, 1)
    return (ups + downs) / 6.0


def plaquette_order(spins: np.ndarray, order: str = "neel") -> np.ndarray:
    """Ising-like order field of a square grid of unit spins [L1, L2, 3].

    The local order vector of plaquette (m, n) is the mean of eps_i s_i over its four
    sites (m, n), (m+1, n), (m, n+1), (m+1, n+1), eps_i = (-1)^(m+n) for Neel order, 1 for
    ferromagnetic order; the field is its projection on the principal axis of all
    these vectors (the easy axis of an easy-axis magnet, found from the data). For
    isotropic (Heisenberg) order there are no domain walls and this field is not
    meaningful."""
    if order not in ("neel", "ferro"):
        raise CoarseningError(f"unknown square-lattice order {order!r}: use neel or ferro")
    m, n = np.meshgrid(np.arange(spins.shape[0]), np.arange(spins.shape[1]), indexing="ij")
    eps = np.where((m + n) % 2 == 0, 1.0, -1.0) if order == "neel" else np.ones(m.shape)
    if order == "neel" and (spins.shape[0] % 2 or spins.shape[1] % 2):
        raise CoarseningError(f"Neel order needs an even number of sites along both cell vectors, got {spins.shape[0]} x {spins.shape[1]}")
    v = eps[..., None] * spins
    v = v + np.roll(v, -1, axis=0)
    v = 0.25 * (v + np.roll(v, -1, axis=1))
    flat = v.reshape(-1, 3)
    _, vectors = np.linalg.eigh(flat.T @ flat)
    return flat.reshape(v.shape) @ vectors[:, -1]


def sign_field(field: np.ndarray) -> np.ndarray:
    """sigma = +1 where the field is >= 0, -1 elsewhere."""
    return np.where(np.asarray(field) >= 0.0, 1.0, -1.0)


# ----------------------------------------------------------------------------
# geometry of a periodic L1 x L2 grid


def _lattice(lattice: str) -> np.ndarray:
    if lattice not in LATTICE_VECTORS:
        raise CoarseningError(f"unknown lattice {lattice!r}: use one of {', '.join(LATTICE_VECTORS)}")
    return LATTICE_VECTORS[lattice]


@functools.lru_cache(maxsize=8)
def image_distances(shape: Tuple[int, int], lattice: str) -> np.ndarray:
    """|r| of the shortest periodic image of every grid offset (m, n) (FFT order);
    cached (read-only: do not modify the result)."""
    a = _lattice(lattice)
    l1, l2 = shape
    m = np.arange(l1)[:, None, None]
    n = np.arange(l2)[None, :, None]
    best = np.full(shape, np.inf)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            r = (m + i * l1) * a[0] + (n + j * l2) * a[1]
            best = np.minimum(best, np.linalg.norm(r, axis=-1))
    best.flags.writeable = False
    return best


def periodic_length(shape: Tuple[int, int], lattice: str) -> float:
    """Length of the shortest period of the torus: the box size the window compares L with."""
    a = _lattice(lattice)
    v1, v2 = shape[0] * a[0], shape[1] * a[1]
    return float(min(np.linalg.norm(v) for v in (v1, v2, v1 - v2, v1 + v2)))


def _neighbour_offsets(lattice: str) -> List[Tuple[int, int]]:
    """One grid offset per nearest-neighbour bond direction (each bond counted once)."""
    return [(1, 0), (0, 1)] + ([(1, -1)] if lattice == "triangular" else [])


# ----------------------------------------------------------------------------
# amplitude-insensitive domain lengths


def correlation_function(sign: np.ndarray, lattice: str, bin_width: float = 0.5):
    """Direction-averaged C(r) of a sign field, normalised to C(0) = 1, for r up to half
    the shortest period: (mean r of each bin, C). Bins of ``bin_width`` are centred on
    multiples of it."""
    mean = float(sign.mean())
    if abs(mean) >= 1.0:
        raise CoarseningError("the sign field is uniform (a single domain): no correlation length")
    product = np.fft.ifft2(np.abs(np.fft.fft2(sign)) ** 2).real / sign.size
    c = (product - mean**2) / (1.0 - mean**2)
    r = image_distances(tuple(sign.shape), lattice)
    keep = r <= 0.5 * periodic_length(sign.shape, lattice)
    index = np.floor(r[keep] / bin_width + 0.5).astype(int)
    counts = np.bincount(index)
    used = counts > 0
    r_mean = np.bincount(index, weights=r[keep])[used] / counts[used]
    return r_mean, np.bincount(index, weights=c[keep])[used] / counts[used]


def correlation_length(sign: np.ndarray, lattice: str, level: float = 0.5) -> float:
    """L_C: the distance where C(r) first falls to ``level``, linearly interpolated
    between bins; infinite when it does not within half the box."""
    if abs(float(sign.mean())) >= 1.0:
        return math.inf
    r, c = correlation_function(sign, lattice)
    below = np.nonzero(c < level)[0]
    if below.size == 0:
        return math.inf
    k = below[0]
    return float(r[k - 1] + (c[k - 1] - level) * (r[k] - r[k - 1]) / (c[k - 1] - c[k]))


def chord_length(sign: np.ndarray, lattice: str) -> float:
    """L_W = 1 / (fraction of nearest-neighbour bonds cut by a sign change) = pi / (2 rho),
    rho the wall length per area; infinite without walls."""
    cut = np.mean([np.mean(sign != np.roll(sign, (-dm, -dn), axis=(0, 1))) for dm, dn in _neighbour_offsets(lattice)])
    return math.inf if cut == 0 else float(1.0 / cut)


def domain_lengths(field: np.ndarray, lattice: str) -> Dict[str, float]:
    """Both estimators of the sign of an order field on the site grid."""
    sign = sign_field(field)
    return {"correlation": correlation_length(sign, lattice), "chord": chord_length(sign, lattice)}


def first_moment_length(field: np.ndarray, lattice: str) -> float:
    """The old estimator, 2 pi / <|q|> of S(q) of the raw field over the whole Brillouin
    zone (analysis.domain_length); kept for comparison only: it depends on the amplitude
    and the noise, not only on the domains."""
    return domain_length(structure_factor(field), _reciprocal_lengths(tuple(field.shape), lattice))


@functools.lru_cache(maxsize=8)
def _reciprocal_lengths(shape: Tuple[int, int], lattice: str) -> np.ndarray:
    q = reciprocal_lengths(*shape, lattice)
    q.flags.writeable = False
    return q


def sign_structure_factor(sign: np.ndarray, lattice: str, bins: int = 48):
    """Direction-averaged S(q) = |sum_r sigma(r) e^{-iq.r}|^2 / N of the sign field for
    0 < |q| <= pi: (bin centres, means); used for the scaling collapse S L^-2 vs q L."""
    s_q = np.abs(np.fft.fft2(sign - sign.mean())) ** 2 / sign.size
    q = _reciprocal_lengths(tuple(sign.shape), lattice)
    edges_q = np.linspace(0.0, np.pi, bins + 1)
    centres = 0.5 * (edges_q[1:] + edges_q[:-1])
    inside = (q > 1e-12) & (q <= np.pi)
    index = np.digitize(q[inside], edges_q) - 1
    sums = np.bincount(index, weights=s_q[inside], minlength=bins)[:bins]
    counts = np.bincount(index, minlength=bins)[:bins]
    with np.errstate(invalid="ignore"):
        return centres, np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


# ----------------------------------------------------------------------------
# growth law: window and exponent


@dataclass
class Window:
    t0: float
    t1: float
    reason: str


def choose_window(times: np.ndarray, amplitude: np.ndarray, length: np.ndarray, box: float,
                  saturation: Optional[float] = None, amplitude_fraction: float = AMPLITUDE_FRACTION,
                  growth: float = GROWTH_SINCE_FORMATION, box_fraction: float = BOX_FRACTION) -> Window:
    """Fit window from the run-mean order amplitude and correlation length L_C.

    Domains have formed at t_f, the first time from which on the amplitude stays >=
    ``amplitude_fraction`` of its saturation (default: its late-time plateau, the mean
    over the last ``PLATEAU_SPAN`` of the time span). The window starts when L_C has
    grown to ``growth`` times L_C(t_f): the length at formation L_f is remembered in
    L^2 = L_f^2 + c t (Allen-Cahn), which lowers the apparent exponent by about
    (L_f / L)^2 / 2. It ends at the last time before L_C exceeds ``box_fraction`` of
    the shortest box period (finite-size effects). Times t <= 0 are never used."""
    times, amplitude, length = map(np.asarray, (times, amplitude, length))
    if saturation is None:
        late = times >= times[-1] - PLATEAU_SPAN * (times[-1] - times[0])
        plateau, what = float(amplitude[late].mean()), "late-time plateau"
    else:
        plateau, what = float(saturation), "saturation"
    low = np.nonzero(amplitude < amplitude_fraction * plateau)[0]
    formed = low[-1] + 1 if low.size else 0
    reason = f"amplitude >= {amplitude_fraction:g} x {what} {plateau:.4g}"
    if formed >= len(times):
        raise CoarseningError(f"the order amplitude never stays >= {amplitude_fraction:g} x {what} {plateau:.4g}: "
                              "domains have not formed; run longer or give --window T0 T1")
    reason += f" from t_f = {times[formed]:.4g}; L_C >= {growth:g} x L_C(t_f) = {growth * length[formed]:.4g}"
    grown = np.nonzero((length >= growth * length[formed]) & (np.arange(len(times)) >= formed) & (times > 0))[0]
    start = grown[0] if grown.size else len(times)
    large = np.nonzero((length > box_fraction * box) & (np.arange(len(times)) >= start))[0]
    stop = large[0] - 1 if large.size else len(times) - 1
    reason += f"; L_C <= {box_fraction:g} x box {box:.4g}"
    if stop - start + 1 < 3:
        raise CoarseningError(f"the fit window ({reason}) holds {max(stop - start + 1, 0)} snapshot(s), fewer than 3: "
                              "run longer, in a larger box, with more snapshots, or give --window T0 T1")
    return Window(float(times[start]), float(times[stop]), reason)


def fit_power_law(times: np.ndarray, lengths: np.ndarray) -> Tuple[float, float]:
    """Exponent n of L = c t^n by least squares of log L on log t, and its standard error
    from the residuals (nan with fewer than 3 points)."""
    x, y = np.log(times), np.log(lengths)
    if not np.all(np.isfinite(y)):
        raise CoarseningError("a domain length in the fit window is infinite (a single domain): shorten the window")
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef, residual, _, _ = np.linalg.lstsq(design, y, rcond=None)
    if len(x) < 3:
        return float(coef[0]), math.nan
    sigma2 = float(np.sum((y - design @ coef) ** 2)) / (len(x) - 2)
    return float(coef[0]), math.sqrt(sigma2 / float(np.sum((x - x.mean()) ** 2)))


def growth_exponent(times: np.ndarray, lengths: np.ndarray, window: Window) -> Dict:
    """Exponent from one fit per run (rows of ``lengths``) over the window: the mean of the
    runs' exponents with the standard error of that mean; with one run, the fit's own
    least-squares error (which ignores that the points of one run are correlated)."""
    inside = (times >= window.t0) & (times <= window.t1)
    fits = [fit_power_law(times[inside], run[inside]) for run in np.atleast_2d(lengths)]
    slopes = np.array([f[0] for f in fits])
    if len(slopes) > 1:
        err, kind = float(slopes.std(ddof=1) / math.sqrt(len(slopes))), f"standard error of the mean over {len(slopes)} runs"
    else:
        err, kind = fits[0][1], "least-squares error of the single run's fit (1 run: no spread over runs)"
    return {"exponent": float(slopes.mean()), "exponent_err": err if math.isfinite(err) else None, "error_kind": kind,
            "run_exponents": slopes.tolist(), "window": [window.t0, window.t1], "window_reason": window.reason,
            "snapshots_in_window": int(inside.sum())}


def mean_and_sem(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean over runs (axis 0) and its standard error (nan for one run)."""
    values = np.atleast_2d(values)
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, np.full_like(mean, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # inf - inf of single-domain snapshots
        return mean, values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])


# ----------------------------------------------------------------------------
# a set of runs


@dataclass
class Runs:
    """Per-snapshot results of several runs on one lattice, at common times."""

    lattice: str
    shape: Tuple[int, int]
    times: np.ndarray                       # [T]
    amplitude: np.ndarray                   # [R, T] mean |order field| (|chi| of all triangles)
    lengths: Dict[str, np.ndarray]          # estimator -> [R, T]
    first_moment: np.ndarray                # [R, T] old estimator, for comparison
    q: Optional[np.ndarray] = None          # [B] for the scaling plot
    sign_sq: Optional[np.ndarray] = None    # [R, T, B]
    names: List[str] = field(default_factory=list)
    time_unit: str = ""

    @property
    def box(self) -> float:
        return periodic_length(self.shape, self.lattice)


def analyse_field_series(fields: Sequence[np.ndarray], lattice: str, amplitudes: Optional[Sequence[float]] = None,
                         raw_fields: Optional[Sequence[np.ndarray]] = None, quiet: bool = True, desc: str = "analysing"):
    """Per-snapshot results of one run given as order fields on the site grid:
    (amplitude [T], {estimator: [T]}, first moment [T], q, sign S(q) [T, B]). The
    amplitude is mean |field| unless given; the old first-moment estimator is taken
    of ``raw_fields`` if given (as the old tool did), else of the fields."""
    from tqdm import tqdm
    amp, lengths, old, sq = [], {k: [] for k in ESTIMATORS}, [], []
    q = None
    for k, f in enumerate(tqdm(fields, desc=desc, unit=" snapshots", disable=quiet, dynamic_ncols=True)):
        amp.append(float(np.abs(f).mean()) if amplitudes is None else float(amplitudes[k]))
        for name, value in domain_lengths(f, lattice).items():
            lengths[name].append(value)
        old.append(first_moment_length(f if raw_fields is None else raw_fields[k], lattice))
        q, s = sign_structure_factor(sign_field(f), lattice)
        sq.append(s)
    return np.array(amp), {k: np.array(v) for k, v in lengths.items()}, np.array(old), q, np.array(sq)


def analyse(runs: Runs, window: Optional[Tuple[float, float]] = None, saturation: Optional[float] = None) -> Dict:
    """Window and exponent of every estimator, and the L(t) tables (JSON-ready)."""
    amp_mean, amp_sem = mean_and_sem(runs.amplitude)
    if window is None:
        lc_mean, _ = mean_and_sem(runs.lengths["correlation"])
        chosen = choose_window(runs.times, amp_mean, lc_mean, runs.box, saturation)
    else:
        t0, t1 = window
        inside = (runs.times >= t0) & (runs.times <= t1) & (runs.times > 0)
        if inside.sum() < 3:
            raise CoarseningError(f"--window {t0:g} {t1:g} holds {int(inside.sum())} snapshot(s) with t > 0; at least 3 are needed "
                                  f"(snapshot times: {_time_range(runs.times)})")
        chosen = Window(float(runs.times[inside][0]), float(runs.times[inside][-1]), "given by --window")
    out = {"lattice": runs.lattice, "grid": list(runs.shape), "box": runs.box, "runs": runs.names or [f"run{k}" for k in range(len(runs.amplitude))],
           "time_unit": runs.time_unit, "times": runs.times.tolist(),
           "amplitude": {"per_run": runs.amplitude.tolist(), "mean": amp_mean.tolist(), "sem": _listed(amp_sem)},
           "estimators": {}}
    for name in ESTIMATORS + ("first_moment",):
        values = runs.lengths[name] if name != "first_moment" else runs.first_moment
        mean, sem = mean_and_sem(values)
        try:
            entry = growth_exponent(runs.times, values, chosen)
        except CoarseningError as e:
            if name != "first_moment":
                raise CoarseningError(f"{name} estimator: {e}") from None
            entry = {"exponent": None, "exponent_err": None, "window": [chosen.t0, chosen.t1], "note": str(e)}
        entry["table"] = {"per_run": _listed(values), "mean": _listed(mean), "sem": _listed(sem)}
        out["estimators"][name] = entry
    out["estimators"]["first_moment"].setdefault("note", "2 pi / <|q|> of the raw field (old estimator): depends on the order "
                                                 "amplitude and noise; for comparison only")
    return out


def _listed(a: np.ndarray):
    """JSON has no inf/nan: they become null."""
    return [_listed(x) for x in a] if np.ndim(a) > 1 else [float(x) if np.isfinite(x) else None for x in a]


def _time_range(times: np.ndarray) -> str:
    return f"{len(times)} from {times[0]:g} to {times[-1]:g}" if len(times) else "none"


# ----------------------------------------------------------------------------
# reading LAMMPS dumps (one dump = one run)

LJ_TIME_TO_HBAR_T = 2.0 * math.pi   # one lj time unit is h/t = 2 pi hbar/t (hbar = 1/(2 pi), as in SPIN)


@dataclass
class RunResult:
    """Per-snapshot results of one dump."""

    name: str
    lattice: str
    shape: Tuple[int, int]
    times: np.ndarray
    time_unit: str
    amplitude: np.ndarray
    lengths: Dict[str, np.ndarray]
    first_moment: np.ndarray
    q: np.ndarray
    sign_sq: np.ndarray


def spin_columns(columns: Sequence[str], where: str) -> List[str]:
    """The spin-direction columns: ``spx spy spz``, else ``c_ID[1] c_ID[2] c_ID[3]`` of
    the first compute (property/atom spx spy spz) that has all three."""
    if all(c in columns for c in ("spx", "spy", "spz")):
        return ["spx", "spy", "spz"]
    found: Dict[str, set] = {}
    for c in columns:
        match = re.fullmatch(r"c_([^\[\]]+)\[(\d+)\]", c)
        if match:
            found.setdefault(match.group(1), set()).add(int(match.group(2)))
    complete = [cid for cid, index in found.items() if {1, 2, 3} <= index]
    if not complete:
        raise CoarseningError(
            f"{where}: no spin columns: the dump needs spx spy spz, or c_ID[1] c_ID[2] c_ID[3] of "
            f"'compute ID all property/atom spx spy spz'; it has: {' '.join(columns)}")
    return [f"c_{complete[0]}[{k}]" for k in (1, 2, 3)]


def _position_columns(columns: Sequence[str], where: str) -> Tuple[str, str, str]:
    for names in (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs")):
        if all(c in columns for c in names):
            return names
    raise CoarseningError(f"{where}: no positions: the dump needs x y z (or xu yu zu, or xs ys zs); it has: {' '.join(columns)}")


def snapshot_grid(box: Box, columns: List[str], data: np.ndarray, lattice: str, where: str):
    """Unit spins on the site grid [L1, L2, 3], after checking that the cell is made of
    L1 x L2 cells of the requested lattice."""
    pos_cols = _position_columns(columns, where)
    positions = np.stack([data[:, columns.index(c)] for c in pos_cols], axis=1)
    if pos_cols[0] == "xs":
        positions = box.origin + positions @ box.cell
    spins = np.stack([data[:, columns.index(c)] for c in spin_columns(columns, where)], axis=1)
    norm = np.linalg.norm(spins, axis=1)
    if not np.all(norm > 0) or not np.all(np.isfinite(norm)):
        raise CoarseningError(f"{where}: a spin direction is zero or not finite")
    n = len(data)
    frame = Frame(0, box, np.arange(1, n + 1), np.ones(n, np.int64), positions, spins / norm[:, None], np.ones(n), None)
    try:
        grid, l1, l2 = site_grid(frame)
    except ValueError as e:
        raise CoarseningError(f"{where}: {e}: the sites must form a periodic L1 x L2 lattice along the first two cell vectors") from None
    _check_cell(box.cell[0, :2] / l1, box.cell[1, :2] / l2, lattice, where)
    return frame.spin_dir[grid]


def _check_cell(a1: np.ndarray, a2: np.ndarray, lattice: str, where: str) -> None:
    """The grid's primitive vectors must be those of the lattice (any scale and orientation)."""
    want = _lattice(lattice)
    cos = float(a1 @ a2 / (np.linalg.norm(a1) * np.linalg.norm(a2)))
    ratio = float(np.linalg.norm(a2) / np.linalg.norm(a1))
    cos_want = float(want[0] @ want[1])
    if abs(ratio - 1.0) > 1e-3 or abs(cos - cos_want) > 1e-3:
        angle = math.degrees(math.acos(max(-1.0, min(1.0, cos))))
        raise CoarseningError(
            f"{where}: the lattice vectors along the cell, a1 = {np.round(a1, 4).tolist()} and a2 = {np.round(a2, 4).tolist()} "
            f"(angle {angle:.1f} deg, length ratio {ratio:.3f}), are not those of a {lattice} lattice "
            f"(angle {math.degrees(math.acos(cos_want)):.0f} deg, equal lengths): check --lattice")


def order_field(spins: np.ndarray, lattice: str, square_order: str = "neel") -> Tuple[np.ndarray, float, np.ndarray]:
    """(order field on the grid, order amplitude, field of the old estimator) of unit
    spins [L1, L2, 3]: the six-triangle chirality, the mean |chirality| of all triangles
    and the up-down mean of analysis.triangular_order (triangular), or the plaquette
    projection and its mean modulus (square)."""
    if lattice == "triangular":
        chi_up, chi_down = grid_chirality(spins)
        amplitude = 0.5 * float(np.abs(chi_up).mean() + np.abs(chi_down).mean())
        return site_chirality(chi_up, chi_down), amplitude, 0.5 * (chi_up + chi_down)
    field = plaquette_order(spins, square_order)
    return field, float(np.abs(field).mean()), field


def snapshot_time(step: int, items: Dict, dt: Optional[float]) -> Tuple[float, str]:
    """(time, unit): step * dt with --dt; else the dump's TIME item (dump_modify time
    yes), converted to hbar/t in units lj; else the step number (unit 'steps')."""
    if dt is not None:
        return step * dt, "step x --dt"
    if "TIME" in items:
        units = items.get("UNITS")
        if units == "lj":
            return items["TIME"] * LJ_TIME_TO_HBAR_T, "hbar/t (lj time x 2 pi)"
        return items["TIME"], f"LAMMPS time ({units or 'units not in the dump'})"
    return float(step), "steps"


def read_run(path: str, lattice: str, dt: Optional[float] = None, square_order: str = "neel", quiet: bool = False) -> RunResult:
    """Order field and domain lengths of every snapshot of one dump."""
    from tqdm import tqdm
    items: Dict = {}
    times, units, fields, amplitudes, raw = [], set(), [], [], []
    shape = None
    try:
        tables = read_dump_tables(path, items=items)
        for step, box, columns, data in tqdm(tables, desc=f"reading {os.path.basename(path)}", unit=" snapshots",
                                             disable=quiet, dynamic_ncols=True):
            where = f"{path}: step {step}"
            spins = snapshot_grid(box, columns, data, lattice, where)
            if shape is not None and spins.shape[:2] != shape:
                raise CoarseningError(f"{where}: the grid changed from {shape[0]} x {shape[1]} to {spins.shape[0]} x {spins.shape[1]}")
            shape = spins.shape[:2]
            field, amplitude, raw_field = order_field(spins, lattice, square_order)
            t, unit = snapshot_time(step, items, dt)
            times.append(t)
            units.add(unit)
            fields.append(field)
            amplitudes.append(amplitude)
            raw.append(raw_field)
    except (OSError, DataError) as e:
        raise CoarseningError(str(e)) from None
    if not fields:
        raise CoarseningError(f"{path}: no snapshots")
    if len(units) > 1:
        raise CoarseningError(f"{path}: snapshots with different time units ({', '.join(sorted(units))}): give --dt")
    order = np.argsort(times, kind="stable")
    if np.any(np.diff(np.asarray(times)[order]) == 0):
        raise CoarseningError(f"{path}: two snapshots at the same time (a dump appended to by a restarted run?)")
    amp, lengths, old, q, sq = analyse_field_series([fields[k] for k in order], lattice, [amplitudes[k] for k in order],
                                                    [raw[k] for k in order], quiet=quiet, desc=f"analysing {os.path.basename(path)}")
    return RunResult(path, lattice, tuple(shape), np.asarray(times)[order], units.pop(), amp, lengths, old, q, sq)


def combine_runs(results: Sequence[RunResult]) -> Runs:
    """Runs at their common snapshot times; all must be on the same lattice and grid."""
    first = results[0]
    for r in results[1:]:
        if r.lattice != first.lattice or r.shape != first.shape:
            raise CoarseningError(
                f"the runs are on different lattices: {first.name} is {first.shape[0]} x {first.shape[1]} {first.lattice}, "
                f"{r.name} is {r.shape[0]} x {r.shape[1]} {r.lattice}; average only runs (seeds) of the same system")
        if r.time_unit != first.time_unit:
            raise CoarseningError(f"the runs' times are in different units: {first.name}: {first.time_unit}, {r.name}: {r.time_unit}; give --dt")
    keys = [set(np.round(r.times, 9)) for r in results]
    common = np.array(sorted(set.intersection(*keys)))
    if any(len(k) != len(common) for k in keys):
        warnings.warn(f"the runs have different snapshot times; using the {len(common)} times they share "
                      f"({', '.join(f'{r.name}: {len(r.times)}' for r in results)})")
    if len(common) == 0:
        raise CoarseningError("the runs share no snapshot time: they cannot be averaged (same dump interval and timestep needed)")

    def pick(r, values):
        index = [int(np.nonzero(np.round(r.times, 9) == t)[0][0]) for t in common]
        return values[index]
    return Runs(first.lattice, first.shape, common,
                np.array([pick(r, r.amplitude) for r in results]),
                {k: np.array([pick(r, r.lengths[k]) for r in results]) for k in ESTIMATORS},
                np.array([pick(r, r.first_moment) for r in results]),
                first.q, np.array([pick(r, r.sign_sq) for r in results]),
                [r.name for r in results], first.time_unit)
