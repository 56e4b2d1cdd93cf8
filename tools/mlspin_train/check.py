"""`check`: does a model file follow the contract, and does LAMMPS agree with it?

Contract checks (no LAMMPS needed): the file loads as TorchScript with
mlspin.json; metadata keys and types; forward signature; a test snapshot
(from a data set, or generated from the model's descriptor metadata) gives
finite per-atom energies of the right shape and dtype; energies unchanged by a
random global spin rotation, by reordering the edges, and by splitting the
atoms between two "ranks" with explicit ghost atoms (as LAMMPS passes them).

LAMMPS check: pair_style mlspin run on the same snapshot gives the same total
energy, per-atom energies, fm and forces, on each requested number of ranks.

Contract 2 (the mu input): everything at mu = the middle of ``mu_range``
(``pair_style mlspin mu m`` in LAMMPS), plus the electron numbers: the automatic
n_i = -d omega_i/d mu against finite differences in mu, and against compute
mlspin/electrons in LAMMPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .dataset import Box, Frame, planar_box, read_dataset
from .export import load_model, metadata_problems
from .graph import Batch, build_graph, with_ghosts
from .lammps import run_pair_style, style_available
from .physics import hbar_for, predict
from .lattice import make_lattice

OK, FAIL, SKIP, WARN = "ok", "FAIL", "skipped", "warning"


@dataclass
class CheckResult:
    name: str
    status: str
    detail: str = ""

    def line(self) -> str:
        return f"[{self.status:>7}] {self.name}" + (f": {self.detail}" if self.detail else "")


def default_tolerance(dtype: str) -> float:
    return 1e-10 if dtype == "float64" else 1e-4


# ----------------------------------------------------------------------------
# test snapshots


def synthetic_frame(meta: Dict, seed: int = 7) -> Tuple[Frame, int]:
    """A periodic snapshot the model accepts, built from its descriptor metadata
    (a patch of its lattice, or a jittered cubic cell for continuous models; a
    simple cubic lattice for models without descriptor metadata). Returns
    (frame, dimension)."""
    desc = meta.get("descriptor") or {}
    rng = np.random.default_rng(seed)
    cutoff = float(meta["cutoff"])
    n_species = len(meta["species"])
    if desc.get("kind") == "lattice":
        a = float(desc["a"])
        size = int(math.ceil(cutoff / a)) + 3
        positions, box = make_lattice(desc["lattice"], size, size, a)
        if abs(float(desc.get("phi", 0.0))) > 1e-12:
            raise ValueError("the model's lattice is rotated (phi != 0): give a snapshot with --data")
        dimension = 2
    elif desc.get("kind") == "continuous":
        spacing = 0.45 * cutoff
        cells = 3
        grid = np.array([(i, j, k) for i in range(cells) for j in range(cells) for k in range(cells)], float)
        positions = (grid + 0.15 * rng.uniform(-1, 1, grid.shape)) * spacing
        box = Box.orthogonal([0, 0, 0], [cells * spacing] * 3)
        dimension = 3
    else:
        # unknown model: a simple cubic lattice, every atom with six neighbors
        spacing = 0.7 * cutoff
        cells = 4
        grid = np.array([(i, j, k) for i in range(cells) for j in range(cells) for k in range(cells)], float)
        positions = grid * spacing
        box = Box.orthogonal([0, 0, 0], [cells * spacing] * 3)
        dimension = 3
    n = len(positions)
    spins = rng.normal(size=(n, 3))
    frame = Frame(
        step=0,
        box=box,
        ids=np.arange(1, n + 1),
        types=rng.integers(1, n_species + 1, size=n),
        positions=positions,
        spin_dir=spins / np.linalg.norm(spins, axis=1, keepdims=True),
        spin_mag=np.ones(n),
        fm=None,
    )
    return frame, dimension


def frame_from_data(path: str, index: int) -> Tuple[Frame, int]:
    ds = read_dataset(path, require_energy=False)
    if not -len(ds.frames) <= index < len(ds.frames):
        raise ValueError(f"{path} has {len(ds.frames)} snapshots; --frame {index} does not exist")
    return ds.frames[index], ds.dimension


# ----------------------------------------------------------------------------
# evaluation helpers


def _batch(frame: Frame, box: Box, cutoff: float, dtype: torch.dtype, mu: Optional[float] = None) -> Tuple[Batch, object]:
    g = build_graph(frame.positions, box, cutoff)
    spin = torch.tensor(frame.spins, dtype=dtype)
    batch = Batch(
        spin=spin,
        types=torch.tensor(frame.types - 1, dtype=torch.int64),
        edge_index=torch.tensor(g.edge_index),
        edge_vec=torch.tensor(g.edge_vec, dtype=dtype),
        frame=torch.zeros(frame.n_atoms, dtype=torch.int64),
        n_frames=1,
        mu=None if mu is None else torch.full((frame.n_atoms,), mu, dtype=dtype),
    )
    return batch, g


def test_mu(meta: Dict) -> Optional[float]:
    """The chemical potential of the checks: the middle of mu_range (contract 2)."""
    if meta.get("contract") != 2:
        return None
    lo, hi = meta["mu_range"]
    return 0.5 * (float(lo) + float(hi))


def _rel_diff(a, b) -> float:
    a = torch.as_tensor(a, dtype=torch.float64)
    b = torch.as_tensor(b, dtype=torch.float64)
    scale = max(1.0, float(b.abs().max())) if b.numel() else 1.0
    return float((a - b).abs().max()) / scale if a.numel() else 0.0


def _compare(name: str, diffs: Dict[str, float], tol: float) -> CheckResult:
    worst = max(diffs.values())
    detail = ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()) + f" (tolerance {tol:.0e}, relative to max(1, |ref|))"
    return CheckResult(name, OK if worst <= tol else FAIL, detail)


def split_ranks(module, frame: Frame, box: Box, cutoff: float, dtype, hbar: float, mu: Optional[float] = None):
    """Evaluate with atoms split between two 'ranks': each sees its own atoms as
    local and every other neighbor (and every periodic image) as a ghost; ``mu``
    (contract 2) is passed as a 0-d tensor, as pair_style mlspin does.
    Returns (site energies [N], fm [N, 3]) summed over the ranks."""
    g = build_graph(frame.positions, box, cutoff)
    n = frame.n_atoms
    edge_index, edge_vec, owner = with_ghosts(g)
    spins = torch.tensor(frame.spins, dtype=dtype)
    types = torch.tensor(frame.types - 1, dtype=torch.int64)
    site = torch.zeros(n, dtype=torch.float64)
    grad = torch.zeros(n, 3, dtype=torch.float64)
    half = np.arange(n) < n // 2
    for rank_atoms in (half, ~half):
        local = np.nonzero(rank_atoms)[0]
        others = np.setdiff1d(np.arange(len(owner)), local)
        order = np.concatenate([local, others])  # locals first
        new_index = np.empty(len(owner), dtype=np.int64)
        new_index[order] = np.arange(len(owner))
        keep = rank_atoms[edge_index[0]] & (edge_index[0] < n)
        ei = torch.tensor(new_index[edge_index[:, keep]])
        ev = torch.tensor(edge_vec[keep], dtype=dtype)
        s = spins[owner[order]].clone().requires_grad_(True)
        if mu is None:
            e = module(s, types[owner[order]], ei, ev, len(local))
        else:
            e = module(s, types[owner[order]], ei, ev, len(local), torch.tensor(mu, dtype=dtype))
        (g_s,) = torch.autograd.grad(e.sum(), [s], allow_unused=True)
        g_s = torch.zeros_like(s) if g_s is None else g_s
        site[local] = e.detach().double()
        grad.index_add_(0, torch.tensor(owner[order]), g_s.double())  # reverse communication
    magnitude = torch.linalg.norm(spins.double(), dim=1, keepdim=True)
    return site, -(magnitude / hbar) * grad


def _random_rotation(rng) -> torch.Tensor:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return torch.tensor(q)


# ----------------------------------------------------------------------------
# the checks


def check_model(
    path: str,
    data: Optional[str] = None,
    frame_index: int = 0,
    lmp: Optional[str] = None,
    ranks: Sequence[int] = (1,),
    tol: Optional[float] = None,
    pair_style: str = "mlspin",
    pair_coeff: str = "* * {model} {species}",
    per_atom_energy: bool = True,
) -> List[CheckResult]:
    """All checks; ``lmp=None`` skips the LAMMPS comparison."""
    results: List[CheckResult] = []
    try:
        module, meta = load_model(path)
    except ValueError as e:
        return [CheckResult("load", FAIL, str(e))]
    results.append(CheckResult("load", OK, "TorchScript archive with mlspin.json"))
    problems = metadata_problems(meta, provenance=False)
    results.append(CheckResult("metadata", FAIL if problems else OK, "; ".join(problems) or _meta_summary(meta)))
    if problems:
        return results
    missing = metadata_problems(meta)
    if missing:
        results.append(CheckResult("metadata provenance", WARN, "; ".join(missing) + " (optional for pair_style mlspin)"))
    mu = test_mu(meta)
    results.append(_check_signature(module, mu is not None))
    if results[-1].status == FAIL:
        return results
    dtype = torch.float64 if meta["dtype"] == "float64" else torch.float32
    tol = tol if tol is not None else default_tolerance(meta["dtype"])
    try:
        hbar = hbar_for(meta["units"])
        frame, dimension = frame_from_data(data, frame_index) if data else synthetic_frame(meta)
    except ValueError as e:
        results.append(CheckResult("test snapshot", FAIL, str(e)))
        return results
    box = planar_box(frame.box, dimension)
    if int(frame.types.max()) > len(meta["species"]):
        results.append(CheckResult("test snapshot", FAIL, f"snapshot has {frame.types.max()} types, model {len(meta['species'])} species"))
        return results
    origin = "given" if data else ("generated" if "descriptor" in meta else "generated simple cubic lattice (use --data for a representative one)")
    results.append(CheckResult("test snapshot", OK, f"{frame.n_atoms} atoms, {origin}, dimension {dimension}"))

    try:
        batch, _ = _batch(frame, box, float(meta["cutoff"]), dtype, mu)
        ref = predict(module, batch, hbar, forces=True)
    except Exception as e:  # noqa: BLE001 - report any model failure
        results.append(CheckResult("forward", FAIL, str(e).strip().splitlines()[-1]))
        return results
    results.append(_check_output(ref, frame.n_atoms, dtype))
    results.append(_check_rotation(module, batch, ref, hbar, tol))
    results.append(_check_edge_order(module, batch, ref, hbar, tol))
    site, fm = split_ranks(module, frame, box, float(meta["cutoff"]), dtype, hbar, mu)
    results.append(_compare("two ranks with ghost atoms (Python)", {"site energy": _rel_diff(site, ref.site_energy), "fm": _rel_diff(fm, ref.fm)}, tol))
    if mu is not None:
        results.append(_check_electrons(module, batch, ref, mu, meta))
    if lmp is None:
        results.append(CheckResult("LAMMPS pair_style mlspin", SKIP, "no LAMMPS executable given"))
        return results
    if mu is not None and not any(w in ("mu", "filling") for w in pair_style.split()):
        pair_style = f"{pair_style} mu {mu:.17g}"
    results.extend(check_lammps(path, meta, frame, dimension, ref, lmp, ranks, tol, pair_style, pair_coeff, per_atom_energy))
    return results


def electrons_by_differences(module, batch: Batch, mu: float, step: float) -> torch.Tensor:
    """n_i = -d omega_i/d mu by central differences with a 0-d mu (the input
    pair_style mlspin passes), Richardson-extrapolated: error O(step^4)."""
    dtype = batch.spin.dtype
    n = batch.n_atoms

    def omega(m: float) -> torch.Tensor:
        with torch.no_grad():
            return module(batch.spin, batch.types, batch.edge_index, batch.edge_vec, n, torch.tensor(m, dtype=dtype)).double()

    def central(h: float) -> torch.Tensor:
        return -(omega(mu + h) - omega(mu - h)) / (2.0 * h)

    return (4.0 * central(0.5 * step) - central(step)) / 3.0


def _check_electrons(module, batch: Batch, ref, mu: float, meta: Dict) -> CheckResult:
    """Contract 2: the automatic n_i against finite differences in mu."""
    lo, hi = meta["mu_range"]
    step = 1e-2 * (float(hi) - float(lo)) if meta["dtype"] == "float64" else 0.1 * (float(hi) - float(lo))
    try:
        fd = electrons_by_differences(module, batch, mu, step)
    except Exception as e:  # noqa: BLE001 - report any model failure
        return CheckResult("electron numbers n_i = -d omega_i/d mu", FAIL, str(e).strip().splitlines()[-1])
    if ref.density is None or not bool(torch.isfinite(ref.density).all()):
        return CheckResult("electron numbers n_i = -d omega_i/d mu", FAIL, "non-finite or missing n_i")
    tol = 1e-7 if meta["dtype"] == "float64" else 1e-2
    result = _compare("electron numbers n_i = -d omega_i/d mu", {"n_i vs finite differences": _rel_diff(ref.density, fd)}, tol)
    result.detail = f"N_e = {float(ref.density.sum()):.10g} at mu = {mu:.6g}; " + result.detail
    return result


def _meta_summary(meta: Dict) -> str:
    ref = meta.get("reference", "")
    ref_text = ref.get("text", "") if isinstance(ref, dict) else str(ref)
    return f"species {meta['species']}, cutoff {meta['cutoff']:.6g}, units {meta['units']}, {meta['dtype']}, reference '{ref_text}'"


def _check_signature(module, takes_mu: bool = False) -> CheckResult:
    """Contract 1: (Tensor, Tensor, Tensor, Tensor, int) -> Tensor; contract 2 adds mu: Tensor."""
    try:
        schema = module.forward.schema
    except AttributeError:
        return CheckResult("forward signature", FAIL, "module has no scripted forward()")
    args = [(a.name, str(a.type)) for a in schema.arguments][1:]
    want = ["Tensor", "Tensor", "Tensor", "Tensor", "int"] + (["Tensor"] if takes_mu else [])
    types = [t for _, t in args]
    ret = [str(r.type) for r in schema.returns]
    ok = types == want and ret == ["Tensor"]
    if ok:
        return CheckResult("forward signature", OK, "(" + ", ".join(f"{t} {n}" for n, t in args) + ") -> Tensor")
    version = "contract 2" if takes_mu else "contract 1"
    return CheckResult("forward signature", FAIL, f"{version} expects ({', '.join(want)}) -> Tensor, got {schema}")


def _check_output(ref, n: int, dtype) -> CheckResult:
    site = ref.site_energy
    problems = []
    if tuple(site.shape) != (n,):
        problems.append(f"energies have shape {tuple(site.shape)}, expected ({n},)")
    if site.dtype != dtype:
        problems.append(f"energies are {site.dtype}, metadata says {dtype}")
    for name, t in (("energies", site), ("fm", ref.fm), ("forces", ref.forces)):
        if not bool(torch.isfinite(t).all()):
            problems.append(f"non-finite {name}")
    detail = "; ".join(problems) or f"E = {float(ref.energy[0]):.10g}, |fm| max {float(ref.fm.abs().max()):.4g}"
    return CheckResult("forward output", FAIL if problems else OK, detail)


def _check_rotation(module, batch: Batch, ref, hbar: float, tol: float) -> CheckResult:
    rot = _random_rotation(np.random.default_rng(11)).to(batch.spin.dtype)
    rotated = Batch(**{**batch.__dict__, "spin": batch.spin @ rot.T})
    out = predict(module, rotated, hbar)
    # fields rotate with the spins
    return _compare(
        "global spin rotation",
        {"site energy": _rel_diff(out.site_energy, ref.site_energy), "fm": _rel_diff(out.fm, ref.fm @ rot.T)},
        tol,
    )


def _check_edge_order(module, batch: Batch, ref, hbar: float, tol: float) -> CheckResult:
    """Reverse the edges of every center (they stay grouped by center)."""
    center = batch.edge_index[0]
    e = center.numel()
    order = torch.argsort(center * (e + 1) + (e - torch.arange(e)))
    shuffled = Batch(**{**batch.__dict__, "edge_index": batch.edge_index[:, order], "edge_vec": batch.edge_vec[order]})
    out = predict(module, shuffled, hbar)
    return _compare("neighbor order", {"site energy": _rel_diff(out.site_energy, ref.site_energy), "fm": _rel_diff(out.fm, ref.fm)}, tol)


def check_lammps(path, meta, frame, dimension, ref, lmp, ranks, tol, pair_style, pair_coeff, per_atom_energy) -> List[CheckResult]:
    reason = style_available(lmp, "pair", pair_style.split()[0])
    if reason:
        return [CheckResult("LAMMPS pair_style mlspin", SKIP, reason)]
    out = []
    for np_ in ranks:
        name = f"LAMMPS pair_style {pair_style.split()[0]} on {np_} rank{'s' if np_ > 1 else ''}"
        try:
            res = run_pair_style(
                lmp, path, frame, meta["species"], meta["units"], dimension, float(meta["cutoff"]), np_, pair_style, pair_coeff, per_atom_energy,
                electrons=ref.density is not None and "filling" not in pair_style.split(),
            )
        except (RuntimeError, ValueError, OSError) as e:
            out.append(CheckResult(name, FAIL, str(e)))
            continue
        diffs = {
            "energy": _rel_diff(torch.tensor([res.energy], dtype=torch.float64), ref.energy.double()),
            "fm": _rel_diff(torch.tensor(res.fm), ref.fm.double()),
            "forces": _rel_diff(torch.tensor(res.forces), ref.forces.double()),
        }
        w = ref.virial[0].double()
        components = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
        lammps_index = {(0, 0): 0, (1, 1): 1, (2, 2): 2, (0, 1): 3, (0, 2): 4, (1, 2): 5}
        diffs["virial"] = _rel_diff(
            torch.tensor([res.virial[lammps_index[c]] for c in components], dtype=torch.float64),
            torch.stack([0.5 * (w[a, b] + w[b, a]) for a, b in components]),
        )
        if res.site_energy is not None:
            diffs["site energy"] = _rel_diff(torch.tensor(res.site_energy), ref.site_energy.double())
        if res.density is not None:
            diffs["n_i"] = _rel_diff(torch.tensor(res.density), ref.density.double())
        out.append(_compare(name, diffs, tol))
    return out
