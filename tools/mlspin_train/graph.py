"""Edges of the model contract built from a periodic snapshot, and batching.

The contract's neighbor of an edge may be any atom; in Python every atom of a
snapshot is local and a neighbor in another periodic image is the same atom,
with the image shift folded into the edge vector. This is exactly what LAMMPS
gives with ghost atoms (a ghost carries its owner's spin); `with_ghosts`
rewrites a graph into the explicit-ghost form to check that equivalence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .dataset import Box


@dataclass
class Graph:
    """Edges center -> neighbor within ``cutoff``, grouped by center."""

    edge_index: np.ndarray  # [2, E] int64
    edge_vec: np.ndarray  # [E, 3]
    shift: np.ndarray  # [E, 3] int: image of the neighbor in cell vectors
    n_atoms: int


def image_range(box: Box, cutoff: float) -> np.ndarray:
    """How many periodic images are needed along each cell vector."""
    cell = box.cell
    volume = abs(np.linalg.det(cell))
    reach = np.zeros(3, dtype=int)
    for k in range(3):
        if not box.periodic[k]:
            continue
        cross = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
        height = volume / np.linalg.norm(cross)
        reach[k] = int(np.ceil(cutoff / height))
    return reach


def build_graph(positions: np.ndarray, box: Box, cutoff: float, budget: int = 8_000_000) -> Graph:
    """All pairs (i, j, image) with 0 < |r_j + image - r_i| < cutoff (all-pairs
    search in chunks of centers holding about ``budget`` numbers)."""
    positions = np.asarray(positions, float)
    n = len(positions)
    cell = box.cell
    frac = box.fractional(positions)
    frac = np.where(box.periodic, frac - np.floor(frac), frac)
    wrapped = box.origin + frac @ cell
    reach = image_range(box, cutoff)
    images = np.array(
        [(i, j, k) for i in range(-reach[0], reach[0] + 1) for j in range(-reach[1], reach[1] + 1) for k in range(-reach[2], reach[2] + 1)],
        dtype=np.int64,
    )
    offsets = images @ cell
    # shift of the unwrapped positions: r_j(input) = wrapped_j - wrap_j @ cell
    wrap = np.rint(np.where(box.periodic, frac - box.fractional(positions), 0.0)).astype(np.int64)
    centers, neighbors, vectors, shifts = [], [], [], []
    chunk = max(1, budget // (3 * len(images) * max(n, 1)))
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        d = wrapped[None, None, :, :] + offsets[:, None, None, :] - wrapped[None, start:stop, None, :]
        r2 = (d * d).sum(-1)
        m_img, m_i, m_j = np.nonzero((r2 < cutoff * cutoff) & (r2 > 1e-20))
        centers.append(m_i + start)
        neighbors.append(m_j)
        vectors.append(d[m_img, m_i, m_j])
        shifts.append(images[m_img] + wrap[m_j] - wrap[m_i + start])
    center = np.concatenate(centers) if centers else np.zeros(0, np.int64)
    neighbor = np.concatenate(neighbors) if neighbors else np.zeros(0, np.int64)
    vec = np.concatenate(vectors) if vectors else np.zeros((0, 3))
    shift = np.concatenate(shifts) if shifts else np.zeros((0, 3), np.int64)
    order = np.lexsort((neighbor, center))
    return Graph(np.stack([center[order], neighbor[order]]).astype(np.int64), vec[order], shift[order], n)


def with_ghosts(graph: Graph):
    """The same edges with every neighbor in a non-zero image replaced by an
    explicit ghost atom (as LAMMPS would pass them). Returns (edge_index,
    edge_vec, owner) with owner[k] the owning atom of atom k (identity for the
    first n atoms)."""
    n = graph.n_atoms
    key = {}
    owner = list(range(n))
    nbr = graph.edge_index[1].copy()
    for e in range(nbr.size):
        s = tuple(graph.shift[e])
        if s == (0, 0, 0):
            continue
        k = (int(nbr[e]), s)
        if k not in key:
            key[k] = len(owner)
            owner.append(int(nbr[e]))
        nbr[e] = key[k]
    return np.stack([graph.edge_index[0], nbr]), graph.edge_vec.copy(), np.array(owner, dtype=np.int64)


@dataclass
class Batch:
    """Several snapshots as one disjoint graph; all atoms are local."""

    spin: torch.Tensor  # [N, 3]
    types: torch.Tensor  # [N] species index
    edge_index: torch.Tensor
    edge_vec: torch.Tensor
    frame: torch.Tensor  # [N] frame of each atom
    n_frames: int
    fm: Optional[torch.Tensor] = None  # [N, 3] reference
    energy: Optional[torch.Tensor] = None  # [B] reference
    force: Optional[torch.Tensor] = None  # [N, 3] reference
    mu: Optional[torch.Tensor] = None  # [N] chemical potential of each atom's snapshot (mu-aware models)
    density: Optional[torch.Tensor] = None  # [N] reference local electron numbers n_i

    @property
    def n_atoms(self) -> int:
        return int(self.spin.shape[0])

    def to(self, device) -> "Batch":
        moved = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in self.__dict__.items()}
        return Batch(**moved)

    def atoms_per_frame(self) -> torch.Tensor:
        return torch.bincount(self.frame, minlength=self.n_frames).to(self.spin.dtype)


def collate(items: Sequence[Dict[str, torch.Tensor]]) -> Batch:
    """Join prepared snapshots (see ``prepare``) into one Batch."""
    offset = 0
    edge_index, frame = [], []
    for b, it in enumerate(items):
        edge_index.append(it["edge_index"] + offset)
        n = it["spin"].shape[0]
        frame.append(torch.full((n,), b, dtype=torch.int64))
        offset += n

    def cat(name: str):
        if any(it.get(name) is None for it in items):
            return None
        return torch.cat([it[name] for it in items])

    return Batch(
        spin=cat("spin"),
        types=cat("types"),
        edge_index=torch.cat(edge_index, dim=1),
        edge_vec=cat("edge_vec"),
        frame=torch.cat(frame),
        n_frames=len(items),
        fm=cat("fm"),
        energy=cat("energy"),
        force=cat("force"),
        mu=cat("mu"),
        density=cat("density"),
    )


class GraphCache:
    """Graphs of snapshots that share positions and box are built once."""

    def __init__(self, cutoff: float):
        self.cutoff = cutoff
        self._cache: Dict[bytes, Graph] = {}

    def get(self, positions: np.ndarray, box: Box) -> Graph:
        key = np.ascontiguousarray(positions).tobytes() + box.key()
        g = self._cache.get(key)
        if g is None:
            g = build_graph(positions, box, self.cutoff)
            self._cache[key] = g
        return g


def _shared(g: Graph, name: str, dtype) -> torch.Tensor:
    """One tensor per graph and dtype for all snapshots of the graph."""
    tensors = g.__dict__.setdefault("_tensors", {})
    key = (name, dtype)
    if key not in tensors:
        tensors[key] = torch.tensor(getattr(g, name), dtype=dtype)
    return tensors[key]


def prepare(frames: List, type_map: Dict[int, int], cutoff: float, dtype=torch.float64, cache: Optional[GraphCache] = None,
            mu_input: bool = False):
    """Tensors of each frame for `collate`: spins (direction times magnitude),
    species indices, edges and the reference fm, energy and forces. With
    ``mu_input`` (contract 2) also each atom's mu and the reference densities
    (dump column ne), and the energy is the grand potential (Frame.grand_potential)."""
    cache = cache or GraphCache(cutoff)
    out = []
    for fr in frames:
        g = cache.get(fr.positions, fr.box)
        try:
            types = np.array([type_map[int(t)] for t in fr.types], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"snapshot {fr.step}: LAMMPS type {e.args[0]} has no species in the model") from None
        energy = fr.energy
        if mu_input:
            if fr.mu is None:
                raise ValueError(
                    f"snapshot {fr.step}: a model with the mu input needs each snapshot's mu: the reference's "
                    "'mu m' or, with 'filling', a mu column in the .energy file ('# step pe mu', see doc/dataset_format.rst)"
                )
            energy = fr.grand_potential()
        item = dict(
            spin=torch.tensor(fr.spins, dtype=dtype),
            types=torch.tensor(types),
            # shared by the snapshots of one lattice (read only): a large data set of one
            # lattice holds its edges once
            edge_index=_shared(g, "edge_index", None),
            edge_vec=_shared(g, "edge_vec", dtype),
            fm=torch.tensor(fr.fm, dtype=dtype) if fr.fm is not None else None,
            energy=torch.tensor([energy], dtype=dtype) if energy is not None else None,
            force=torch.tensor(fr.forces, dtype=dtype) if fr.forces is not None else None,
        )
        if mu_input:
            item["mu"] = torch.full((fr.n_atoms,), float(fr.mu), dtype=dtype)
            item["density"] = torch.tensor(fr.density, dtype=dtype) if fr.density is not None else None
        out.append(item)
    return out
