"""A tiny exact diagonalization of the s-d model, for tests and for trying the
tool without LAMMPS. The physics reference of the project is pair_style sd/tb;
this module only makes small data sets in the same format.

    H = -t sum_<ij>,s (c+_is c_js + h.c.) - J sum_i S_i . (c+_ia sigma_ab c_ib)

(J > 0 favours electron spin parallel to S). Electrons: canonical ensemble with
filling f electrons per site and spin orientation (N_e = 2 N f), Fermi smearing
kT. The energy is the electronic free energy F = Omega(mu) + mu N_e, for which
the Hellmann-Feynman field is exact:

    -dF/dS_i = J <c+_i sigma c_i>.

With ``SDModel(mu=m)`` instead (grand canonical, as sd/tb ``mu m``) the energy is
Omega(m) and the field the same expression. Snapshots carry their mu either way
(``Frame.mu``; written as the ``mu`` column of the .energy file for canonical data).

fm_i = (|S_i|/hbar)(-dF/dS_i) with hbar = 1/(2 pi) (units lj, as in LAMMPS' SPIN package).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np

from .dataset import Box, Frame, planar_box, write_dataset
from .graph import build_graph
from .lattice import make_lattice  # noqa: F401 (also importable from here, as before)

LJ_HBAR = 1.0 / (2.0 * np.pi)  # hbar in units lj (src/core/units.h)
PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


@dataclass
class SDModel:
    """Hopping by neighbor shell (``hop`` = [t1, t2, ...]), coupling J, filling, kT."""

    hop: Tuple[float, ...] = (1.0,)
    J: float = 6.0
    filling: Optional[float] = 0.485
    kT: float = 0.01
    mu: Optional[float] = None  # grand canonical at this mu (then filling is ignored)

    def header(self) -> str:
        ensemble = f"mu {float(self.mu)!r}" if self.mu is not None else f"filling {self.filling:g}"
        return "toy-sd hop " + " ".join(f"{t:g}" for t in self.hop) + f" J {self.J:g} {ensemble} kT {self.kT:g} solver ed"


class SDSystem:
    """The s-d model on fixed sites; ``solve(spins)`` returns energy and fields."""

    def __init__(self, model: SDModel, positions: np.ndarray, box: Box, tol: float = 1e-6):
        if np.ptp(positions[:, 2]) > tol:
            raise ValueError("the toy s-d model needs all sites in one xy plane")
        if model.mu is None and not (model.filling is not None and 0 < model.filling < 1):
            raise ValueError(f"filling must be in (0, 1), got {model.filling}")
        self.model = model
        self.n = len(positions)
        self.hopping = self._hopping_matrix(positions, planar_box(box, 2), tol)

    def _hopping_matrix(self, positions, box, tol) -> np.ndarray:
        g = build_graph(positions, box, cutoff=_shell_radius(positions, box, len(self.model.hop)) + tol)
        dist = np.linalg.norm(g.edge_vec, axis=1)
        shells = np.unique(np.round(dist, 6))
        h = np.zeros((self.n, self.n))
        for (i, j), d in zip(g.edge_index.T, dist):
            shell = int(np.argmin(np.abs(shells - d)))
            if shell < len(self.model.hop):
                h[i, j] -= self.model.hop[shell]
        return h

    def hamiltonian(self, spins: np.ndarray) -> np.ndarray:
        n = self.n
        h = np.kron(self.hopping, np.eye(2)).astype(complex)
        local = -self.model.J * np.einsum("ia,abc->ibc", spins, PAULI)
        for i in range(n):
            h[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] += local[i]
        return h

    def solve(self, spins: np.ndarray):
        """(F, field = -dF/dS [N,3], electron density [N], electron spin [N,3]); grand
        canonical: Omega instead of F. ``last_mu``: the chemical potential used."""
        energies, vectors = np.linalg.eigh(self.hamiltonian(spins))
        if self.model.mu is None:
            n_electrons = 2 * self.n * self.model.filling
            mu = _chemical_potential(energies, n_electrons, self.model.kT)
        else:
            mu, n_electrons = self.model.mu, 0.0
        self.last_mu = mu
        occ = _fermi(energies, mu, self.model.kT)
        free = _grand_potential(energies, mu, self.model.kT) + mu * n_electrons
        rho = (vectors * occ) @ vectors.conj().T
        blocks = rho.reshape(self.n, 2, self.n, 2)[np.arange(self.n), :, np.arange(self.n), :]  # [N, 2, 2]
        density = np.real(np.einsum("ibb->i", blocks))
        # <c+_a sigma_ab c_b> = sum_ab sigma_ab rho_ba
        espin = np.real(np.einsum("kab,iba->ik", PAULI, blocks))
        return float(free), self.model.J * espin, density, espin


def _shell_radius(positions, box, shells: int) -> float:
    g = build_graph(positions, box, cutoff=min(np.linalg.norm(box.cell[:2], axis=1).min(), 4.0) * 0.999)
    dist = np.unique(np.round(np.linalg.norm(g.edge_vec, axis=1), 6))
    if len(dist) < shells:
        raise ValueError(f"the lattice has fewer than {shells} neighbor shells within reach")
    return float(dist[shells - 1])


def _fermi(e: np.ndarray, mu: float, kT: float) -> np.ndarray:
    if kT <= 0:
        return (e < mu).astype(float)
    return 0.5 * (1.0 - np.tanh(0.5 * (e - mu) / kT))


def _grand_potential(e: np.ndarray, mu: float, kT: float) -> float:
    if kT <= 0:
        return float(np.sum(np.minimum(e - mu, 0.0)))
    return float(-kT * np.sum(np.logaddexp(0.0, -(e - mu) / kT)))


def _chemical_potential(e: np.ndarray, n_electrons: float, kT: float) -> float:
    lo, hi = e.min() - 10 * max(kT, 1e-3) - 1, e.max() + 10 * max(kT, 1e-3) + 1
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _fermi(e, mid, kT).sum() < n_electrons:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


# ----------------------------------------------------------------------------
# configurations and data sets


def random_spins(n: int, rng: np.random.Generator) -> np.ndarray:
    s = rng.normal(size=(n, 3))
    return s / np.linalg.norm(s, axis=1, keepdims=True)


def llg_quench(
    system: SDSystem, spins: np.ndarray, steps: int, dt: float = 0.05, alpha: float = 0.5
) -> Iterator[Tuple[int, np.ndarray]]:
    """Damped precession at T = 0 (Gilbert form, Heun + renormalisation), yielding
    (step, spins) at every step, step 0 first."""
    s = spins.copy()

    def rate(x):
        w = system.solve(x)[1]
        sxw = np.cross(x, w)
        return -(sxw + alpha * np.cross(x, sxw)) / (1 + alpha * alpha)

    yield 0, s.copy()
    for k in range(1, steps + 1):
        k1 = rate(s)
        trial = s + dt * k1
        trial /= np.linalg.norm(trial, axis=1, keepdims=True)
        s = s + 0.5 * dt * (k1 + rate(trial))
        s /= np.linalg.norm(s, axis=1, keepdims=True)
        yield k, s.copy()


def snapshot(system: SDSystem, positions: np.ndarray, box: Box, spins: np.ndarray, step: int) -> Frame:
    energy, field, density, espin = system.solve(spins)
    mag = np.linalg.norm(spins, axis=1)
    return Frame(
        step=step,
        box=box,
        ids=np.arange(1, len(spins) + 1),
        types=np.ones(len(spins), dtype=np.int64),
        positions=positions,
        spin_dir=spins / mag[:, None],
        spin_mag=mag,
        fm=field * mag[:, None] / LJ_HBAR,
        energy=energy,
        extra={"ne": density, "sex": espin[:, 0], "sey": espin[:, 1], "sez": espin[:, 2]},
        mu=system.last_mu,
        filling=system.model.filling if system.model.mu is None else None,
    )


def generate(
    name: str,
    lattice: str = "square",
    size: int = 6,
    model: Optional[SDModel] = None,
    n_random: int = 20,
    n_quench: int = 0,
    quench_steps: int = 40,
    quench_every: int = 10,
    seed: int = 1,
) -> List[Frame]:
    """Write ``name.dump``/``name.energy``: random spin configurations and
    snapshots of T = 0 quenches from random spins."""
    model = model or SDModel()
    rng = np.random.default_rng(seed)
    positions, box = make_lattice(lattice, size, size)
    system = SDSystem(model, positions, box)
    frames = []
    for k in range(n_random):
        frames.append(snapshot(system, positions, box, random_spins(len(positions), rng), step=len(frames)))
    for q in range(n_quench):
        for step, s in llg_quench(system, random_spins(len(positions), rng), quench_steps):
            if step > 0 and step % quench_every == 0:
                frames.append(snapshot(system, positions, box, s, step=len(frames)))
    comments = [f"toy exact diagonalization (mlspin_train.toy_sd), {lattice} {size}x{size}, seed {seed}: not pair_style sd/tb"]
    write_dataset(name, frames, "lj", model.header(), comments, dimension=2, mu_column=model.mu is None)
    return frames
