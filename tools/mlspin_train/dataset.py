"""Reading and writing the training data format.

A data set ``<name>`` is two files written by LAMMPS runs with the reference
(pair_style sd/tb):

``<name>.dump``
    LAMMPS ``dump custom`` text, one block per snapshot::

        ITEM: TIMESTEP
        ITEM: NUMBER OF ATOMS
        ITEM: BOX BOUNDS pp pp pp            (or: xy xz yz pp pp pp, or: abc origin pp pp pp)
        ITEM: ATOMS id type x y z spx spy spz sp fmx fmy fmz [more columns]

    Columns are found by name; extra columns are kept in ``Frame.extra``.
    Positions may also be ``xu yu zu`` or scaled ``xs ys zs``. ``sp`` (spin
    magnitude) may be missing: then it is |(spx, spy, spz)|. ``fx fy fz``, when
    present, are reference forces. fm is the precession frequency
    fm_i = (|S_i|/hbar)(-dE/dS_i).

``<name>.energy``
    ``#`` comment lines (``# units lj``, ``# hbar 0.15915494309189535`` -- the hbar
    the fm column was written with, required in units lj --, optionally
    ``# dimension 2``, and the reference Hamiltonian, e.g.
    ``# sd/tb hop 1.0 J 6.0 filling 0.485 kT 0.01 solver ed``), then one line
    ``step pe`` per snapshot: the total energy. A title line ``# step pe mu`` adds
    a third column, the chemical potential of each snapshot (``compute pair
    sd/tb``; needed for mu-aware models of data at a fixed ``filling``).

Chemical potential and densities (for models with the mu input, contract 2): a
snapshot's mu is the reference's ``mu`` (grand canonical) or the ``mu`` column
(canonical, ``filling``); its local electron numbers n_i are the dump column
``ne`` (``compute sd/tb/electrons``, c_el[1]). sd/tb's ``pe`` is the grand
potential Omega with ``mu`` and the free energy F = Omega + mu N_e with
``filling`` (N_e = 2 f N); ``Frame.grand_potential()`` gives Omega in both cases.

mlspin uses hbar = hplanck/(2 pi) in every unit style, 1/(2 pi) in units lj, as
LAMMPS' SPIN package does; versions before 2026-12 used hbar = 1 in units lj. The
``hbar`` line says which convention wrote the file, and fm is converted on reading.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .physics import hbar_for

REQUIRED = ("id", "type", "spx", "spy", "spz", "fmx", "fmy", "fmz")
_POSITION_SETS = (("x", "y", "z"), ("xu", "yu", "zu"), ("xs", "ys", "zs"))


class DataError(ValueError):
    """A data file does not follow the documented format."""


@dataclass
class Box:
    """Simulation cell: ``cell`` rows are the cell vectors a, b, c."""

    origin: np.ndarray
    cell: np.ndarray
    periodic: np.ndarray  # [3] bool

    @staticmethod
    def orthogonal(lo: Sequence[float], hi: Sequence[float], periodic=(True, True, True)) -> "Box":
        lo = np.asarray(lo, float)
        return Box(lo, np.diag(np.asarray(hi, float) - lo), np.asarray(periodic, bool))

    @staticmethod
    def lammps_triclinic(lo, hi, tilt, periodic=(True, True, True)) -> "Box":
        """From xlo..zhi and the tilt factors (xy, xz, yz)."""
        lo = np.asarray(lo, float)
        hi = np.asarray(hi, float)
        xy, xz, yz = tilt
        cell = np.array([[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]])
        return Box(lo, cell, np.asarray(periodic, bool))

    @property
    def is_orthogonal(self) -> bool:
        return bool(np.allclose(self.cell, np.diag(np.diag(self.cell))))

    @property
    def is_lammps_restricted(self) -> bool:
        c = self.cell
        return bool(c[0, 1] == 0 and c[0, 2] == 0 and c[1, 2] == 0)

    def fractional(self, positions: np.ndarray) -> np.ndarray:
        return (np.asarray(positions, float) - self.origin) @ np.linalg.inv(self.cell)

    def key(self) -> bytes:
        return self.origin.tobytes() + self.cell.tobytes() + self.periodic.tobytes()


@dataclass
class Frame:
    step: int
    box: Box
    ids: np.ndarray
    types: np.ndarray  # LAMMPS types, 1-based
    positions: np.ndarray  # [N, 3]
    spin_dir: np.ndarray  # [N, 3] unit vectors
    spin_mag: np.ndarray  # [N]
    fm: Optional[np.ndarray]  # [N, 3]
    energy: Optional[float] = None
    forces: Optional[np.ndarray] = None
    extra: Dict[str, np.ndarray] = field(default_factory=dict)
    mu: Optional[float] = None  # chemical potential of the reference
    filling: Optional[float] = None  # canonical reference: electrons per site and spin orientation

    @property
    def n_atoms(self) -> int:
        return len(self.ids)

    @property
    def density(self) -> Optional[np.ndarray]:
        """Local electron numbers n_i (dump column ``ne``), None if absent."""
        return self.extra.get("ne")

    def grand_potential(self) -> Optional[float]:
        """The reference's grand potential Omega at ``mu``: ``energy`` (sd/tb with mu),
        or F - mu N_e with N_e = 2 f N (sd/tb with filling, whose pe is the free
        energy F = Omega + mu N_e)."""
        if self.energy is None:
            return None
        if self.filling is None:
            return self.energy
        if self.mu is None:
            raise DataError(f"snapshot {self.step}: canonical data (filling {self.filling}) without its mu: no grand potential")
        return self.energy - self.mu * 2.0 * self.filling * self.n_atoms

    @property
    def spins(self) -> np.ndarray:
        """S_i = direction times magnitude."""
        return self.spin_dir * self.spin_mag[:, None]


@dataclass
class Dataset:
    name: str
    frames: List[Frame]
    units: Optional[str] = None
    dimension: Optional[int] = None
    reference: Dict = field(default_factory=dict)
    comments: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    def summary(self, folder: str = ".", portable: bool = True) -> Dict:
        """Provenance: name, files and their sha256, snapshots, units, reference.
        Files are named relative to ``folder`` (the model's folder): by
        ``portable_name`` if ``portable``, else by the full relative path (for
        checkpoints, which ``relocate_provenance`` later renames). Never absolute."""
        atoms = sorted({f.n_atoms for f in self.frames})
        name = portable_name if portable else _relative_name
        files = [name(f, folder) for f in self.files]
        return {
            "name": self.name,
            "files": files,
            "sha256": {n: file_sha256(f) for n, f in zip(files, self.files)},
            "snapshots": len(self.frames),
            "atoms_per_snapshot": atoms,
            "units": self.units,
            "reference": self.reference,
        }


def portable_name(path: str, folder: str) -> str:
    """How a model file in ``folder`` names a data file: relative to the folder
    when the file lies in it or beside it (at most one '..': ../data/x.dump),
    else by its base name; so metadata never shows directories above the
    project, such as the home directory of the machine that trained it."""
    rel = _relative_name(path, folder)
    ups = rel.split("/").count("..")
    return rel if ups <= 1 else os.path.basename(path)


def _relative_name(path: str, folder: str) -> str:
    return os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")


def relocate_provenance(dataset: Dict, from_folder: str, to_folder: str) -> Dict:
    """The data set provenance of a checkpoint in ``from_folder`` (file names
    relative to it; absolute in checkpoints of earlier versions) for a model
    file written to ``to_folder``: names by ``portable_name``, sha256 kept."""
    out = dict(dataset)
    for role in ("train", "validation", "test"):
        if role in dataset:
            out[role] = [_relocate_entry(e, from_folder, to_folder) for e in dataset[role]]
    return out


def _relocate_entry(entry: Dict, from_folder: str, to_folder: str) -> Dict:
    entry = dict(entry)
    hashes = entry.get("sha256", {})
    files, new_hashes = [], {}
    for old in entry.get("files", []):
        new = portable_name(os.path.join(from_folder, old), to_folder)
        files.append(new)
        digest = hashes.get(old, hashes.get(os.path.basename(old)))  # earlier versions: keyed by base name
        if digest is not None:
            new_hashes[new] = digest
    entry["files"] = files
    if "sha256" in entry:
        entry["sha256"] = new_hashes
    return entry


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------
# paths


def dataset_paths(name: str) -> Tuple[str, str]:
    """``name``, ``name.dump`` or ``name.energy`` -> (dump path, energy path)."""
    for ext in (".dump", ".energy"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    return name + ".dump", name + ".energy"


def read_dataset(name: str, require_energy: bool = True, column_map: Optional[Dict[str, str]] = None) -> Dataset:
    dump_path, energy_path = dataset_paths(name)
    if not os.path.exists(dump_path):
        raise DataError(f"data set '{name}': dump file {dump_path} not found")
    frames = list(read_dump(dump_path, column_map))
    if not frames:
        raise DataError(f"{dump_path}: no snapshots found")
    ds = Dataset(os.path.basename(dump_path[: -len(".dump")]), frames, files=[dump_path])
    if os.path.exists(energy_path):
        header, energies = read_energy(energy_path)
        _attach_energies(frames, energies, dump_path, energy_path)
        ds.files.append(energy_path)
        ds.units = header.get("units")
        _convert_fm(frames, ds.units, header.get("hbar"), energy_path)
        ds.dimension = header.get("dimension")
        ds.reference = header.get("reference", {})
        ds.comments = header.get("comments", [])
        _attach_mu(frames, ds.reference, header.get("step_values", {}), energy_path)
    elif require_energy:
        raise DataError(f"data set '{name}': energy file {energy_path} not found")
    if ds.dimension is None:
        ds.dimension = guess_dimension(frames[0])
    return ds


def _attach_mu(frames: List[Frame], reference: Dict, step_values: Dict[str, Dict[int, float]], energy_path: str) -> None:
    """Each snapshot's mu (reference ``mu``, or the ``mu`` column) and filling."""
    params = reference.get("parameters", {}) if isinstance(reference, dict) else {}
    mu_fixed = params.get("mu")
    filling = params.get("filling")
    column = step_values.get("mu")
    for f in frames:
        if isinstance(filling, float):
            f.filling = filling
        if column is not None:
            f.mu = column[f.step]
        elif isinstance(mu_fixed, float):
            f.mu = mu_fixed
        if isinstance(mu_fixed, float) and column is not None and abs(f.mu - mu_fixed) > 1e-9 * max(1.0, abs(mu_fixed)):
            raise DataError(f"{energy_path}: step {f.step}: the mu column ({f.mu}) differs from the reference's mu {mu_fixed}")


def _convert_fm(frames: List[Frame], units: Optional[str], hbar_written: Optional[float], energy_path: str) -> None:
    """Express fm with this version's hbar when the file was written with another."""
    if units is None:
        return
    hbar = hbar_for(units)
    if hbar_written is None:
        if units == "lj":
            raise DataError(
                f"{energy_path}: units lj data must state the hbar its fm were written with "
                f"('# hbar VALUE' in the header): mlspin now uses hbar = 1/(2 pi) = {hbar!r} in "
                "units lj like LAMMPS' SPIN package; data written by earlier mlspin versions "
                "used hbar = 1 (add '# hbar 1')"
            )
        return
    if not hbar_written > 0.0:
        raise DataError(f"{energy_path}: hbar {hbar_written} is not positive")
    if abs(hbar_written / hbar - 1.0) > 1e-12:
        for f in frames:
            f.fm = f.fm * (hbar_written / hbar)


def guess_dimension(frame: Frame) -> int:
    """2 when all atoms share one z (a lattice model in the xy plane)."""
    z = frame.positions[:, 2]
    return 2 if np.ptp(z) < 1e-8 * max(1.0, float(np.abs(frame.box.cell).max())) else 3


def planar_box(box: Box, dimension: int) -> Box:
    """For 2D data the box is not periodic along z (as in LAMMPS' dimension 2)."""
    if dimension != 2:
        return box
    periodic = box.periodic.copy()
    periodic[2] = False
    return Box(box.origin, box.cell, periodic)


# ----------------------------------------------------------------------------
# dump files


def read_dump(path: str, column_map: Optional[Dict[str, str]] = None) -> Iterator[Frame]:
    """Snapshots of a LAMMPS dump custom file, atoms sorted by id."""
    for step, box, columns, data in read_dump_tables(path, column_map):
        yield _frame_from_table(step, box, columns, data, path)


def read_dump_tables(path: str, column_map: Optional[Dict[str, str]] = None, items: Optional[Dict] = None):
    """(step, box, column names, values [N, columns]) of each snapshot of a dump file;
    ``column_map`` renames columns: {documented name: name in the file}. If ``items`` is
    a dict, it holds the optional ``UNITS`` (str) and ``TIME`` (float) items of the
    snapshot just yielded (``dump_modify units yes`` / ``time yes``)."""
    rename = {v: k for k, v in (column_map or {}).items()}
    with open(path) as fh:
        lines = iter(enumerate(fh, start=1))
        while True:
            item = _next_item(lines)
            if item is None:
                return
            if items is not None:
                items.clear()
            yield _read_frame(item, lines, path, rename, items)


def _next_item(lines) -> Optional[Tuple[int, str]]:
    for number, line in lines:
        if line.strip():
            return number, line.strip()
    return None


def _take(lines, path: str, what: str) -> Tuple[int, str]:
    item = _next_item(lines)
    if item is None:
        raise DataError(f"{path}: file ends while reading {what}")
    return item


def _read_frame(first: Tuple[int, str], lines, path: str, rename: Dict[str, str], items: Optional[Dict] = None):
    step = None
    natoms = None
    box = None
    number, line = first
    while True:
        if not line.startswith("ITEM:"):
            raise DataError(f"{path}:{number}: expected an 'ITEM:' line, found '{line[:60]}'")
        head = line[5:].strip()
        if head == "TIMESTEP":
            step = int(_take(lines, path, "TIMESTEP")[1].split()[0])
        elif head == "NUMBER OF ATOMS":
            natoms = int(_take(lines, path, "NUMBER OF ATOMS")[1])
        elif head.startswith("BOX BOUNDS"):
            box = _read_box(head, lines, path, number)
        elif head in ("UNITS", "TIME"):
            number, value = _take(lines, path, head)
            if items is not None:
                if head == "TIME" and not _is_number(value):
                    raise DataError(f"{path}:{number}: ITEM: TIME is followed by '{value[:40]}', not a number")
                items[head] = value.split()[0] if head == "UNITS" else float(value)
        elif head.startswith("ATOMS"):
            if step is None or natoms is None or box is None:
                raise DataError(f"{path}:{number}: ITEM: ATOMS before TIMESTEP, NUMBER OF ATOMS and BOX BOUNDS")
            columns = [rename.get(c, c) for c in head.split()[1:]]
            rows = [_take(lines, path, f"atom {k + 1} of step {step}") for k in range(natoms)]
            return step, box, columns, _parse_rows(rows, len(columns), step, path)
        else:
            raise DataError(f"{path}:{number}: unknown dump item '{head}'")
        number, line = _take(lines, path, "the next ITEM")


def _read_box(head: str, lines, path: str, number: int) -> Box:
    words = head.split()[2:]
    rows = [np.array(_take(lines, path, "BOX BOUNDS")[1].split(), float) for _ in range(3)]
    if words[:2] == ["abc", "origin"]:
        flags = words[2:]
        cell = np.array([r[:3] for r in rows])
        origin = np.array([r[3] for r in rows])
        return Box(origin, cell, _periodic_flags(flags, path, number))
    if words[:3] == ["xy", "xz", "yz"]:
        flags = words[3:]
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo_b, zhi_b, yz) = rows
        xlo = xlo_b - min(0.0, xy, xz, xy + xz)
        xhi = xhi_b - max(0.0, xy, xz, xy + xz)
        ylo = ylo_b - min(0.0, yz)
        yhi = yhi_b - max(0.0, yz)
        return Box.lammps_triclinic([xlo, ylo, zlo_b], [xhi, yhi, zhi_b], (xy, xz, yz), _periodic_flags(flags, path, number))
    lo = [r[0] for r in rows]
    hi = [r[1] for r in rows]
    return Box.orthogonal(lo, hi, _periodic_flags(words, path, number))


def _periodic_flags(flags: List[str], path: str, number: int) -> np.ndarray:
    if len(flags) != 3:
        raise DataError(f"{path}:{number}: BOX BOUNDS needs three boundary flags (e.g. 'pp pp pp'), got {flags}")
    return np.array([f == "pp" for f in flags], bool)


def _parse_rows(rows, n_columns: int, step: int, path: str) -> np.ndarray:
    try:
        data = np.array([r[1].split() for r in rows], dtype=float)
    except ValueError:
        raise DataError(f"{path}: step {step}: atom lines with the wrong number of values or non-numbers") from None
    if data.ndim != 2 or data.shape[1] != n_columns:
        raise DataError(f"{path}: step {step}: atom lines do not have {n_columns} values each")
    return data


def _frame_from_table(step: int, box: Box, columns: List[str], data: np.ndarray, path: str) -> Frame:
    missing = [c for c in REQUIRED if c not in columns]
    pos_cols = next((p for p in _POSITION_SETS if all(c in columns for c in p)), None)
    if missing or pos_cols is None:
        need = missing + ([] if pos_cols else ["x y z (or xu yu zu, xs ys zs)"])
        raise DataError(
            f"{path}: step {step}: ITEM: ATOMS lacks column(s) {', '.join(need)}; it has: {' '.join(columns)} "
            "(columns are found by name; use a column map to rename)"
        )
    col = {c: data[:, k] for k, c in enumerate(columns)}
    order = np.argsort(col["id"], kind="stable")
    col = {c: v[order] for c, v in col.items()}
    positions = np.stack([col[c] for c in pos_cols], axis=1)
    if pos_cols[0] == "xs":
        positions = box.origin + positions @ box.cell
    sp = np.stack([col["spx"], col["spy"], col["spz"]], axis=1)
    length = np.linalg.norm(sp, axis=1)
    if np.any(length == 0) or not np.all(np.isfinite(length)):
        bad = int(col["id"][np.argmax((length == 0) | ~np.isfinite(length))])
        raise DataError(f"{path}: step {step}: atom {bad} has a zero or non-finite spin direction")
    magnitude = col["sp"] if "sp" in col else length
    forces = np.stack([col[c] for c in ("fx", "fy", "fz")], axis=1) if all(c in col for c in ("fx", "fy", "fz")) else None
    used = set(REQUIRED) | set(pos_cols) | {"sp", "fx", "fy", "fz"}
    return Frame(
        step=step,
        box=box,
        ids=col["id"].astype(np.int64),
        types=col["type"].astype(np.int64),
        positions=positions,
        spin_dir=sp / length[:, None],
        spin_mag=np.asarray(magnitude, float),
        fm=np.stack([col["fmx"], col["fmy"], col["fmz"]], axis=1),
        forces=forces,
        extra={c: v for c, v in col.items() if c not in used},
    )


# ----------------------------------------------------------------------------
# energy files


def read_energy(path: str) -> Tuple[Dict, List[Tuple[int, float]]]:
    """(header, [(step, pe)]); columns after pe named by a title line ``# step pe
    NAME ...`` are in header["step_values"][NAME] = {step: value}."""
    header: Dict = {"comments": [], "columns": ["step", "pe"]}
    energies: List[Tuple[int, float]] = []
    values: Dict[str, Dict[int, float]] = {}
    with open(path) as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("#"):
                _header_line(text[1:].strip(), header)
                continue
            words = text.split()
            extra = header["columns"][2:]
            try:
                step = int(words[0])
                energies.append((step, float(words[1])))
                for k, name in enumerate(extra):
                    values.setdefault(name, {})[step] = float(words[2 + k])
            except (ValueError, IndexError):
                want = " ".join(header["columns"])
                raise DataError(f"{path}:{number}: expected '{want}', found '{text[:60]}'") from None
    header["step_values"] = values
    return header, energies


def _header_line(text: str, header: Dict) -> None:
    header["comments"].append(text)
    words = text.split()
    if not words:
        return
    if words[0] == "units" and len(words) == 2:
        header["units"] = words[1]
    elif words[0] == "hbar" and len(words) == 2 and _is_number(words[1]):
        header["hbar"] = float(words[1])
    elif words[0] == "dimension" and len(words) == 2:
        header["dimension"] = int(words[1])
    elif words[0] in ("step", "Step"):
        if len(words) >= 2:
            header["columns"] = ["step", "pe"] + words[2:]
    elif "reference" in header:
        return
    elif words[0] == "pair_style" and len(words) > 1:
        header["reference"] = parse_hamiltonian(" ".join(words[1:]))
    elif "/" in words[0] or (len(words) > 2 and _is_number(words[2])):
        header["reference"] = parse_hamiltonian(text)


def parse_hamiltonian(text: str) -> Dict:
    """'sd/tb hop 1.0 0.2 J 6.0 filling 0.485 solver ed' ->
    {'style': 'sd/tb', 'parameters': {'hop': [1.0, 0.2], 'J': 6.0, 'filling': 0.485, 'solver': 'ed'}, 'text': ...}"""
    words = text.split()
    params: Dict = {}
    k = 1
    while k < len(words):
        key = words[k]
        values = []
        k += 1
        while k < len(words) and _is_number(words[k]):
            values.append(float(words[k]))
            k += 1
        if not values and k < len(words):
            params[key] = words[k]
            k += 1
        else:
            params[key] = values[0] if len(values) == 1 else values
    return {"style": words[0], "parameters": params, "text": text}


def _is_number(word: str) -> bool:
    try:
        float(word)
        return True
    except ValueError:
        return False


def _attach_energies(frames: List[Frame], energies: List[Tuple[int, float]], dump_path: str, energy_path: str) -> None:
    by_step: Dict[int, float] = {}
    for step, pe in energies:
        if step in by_step:
            raise DataError(f"{energy_path}: step {step} appears twice")
        by_step[step] = pe
    missing = [f.step for f in frames if f.step not in by_step]
    if missing:
        raise DataError(
            f"{dump_path} and {energy_path} do not match: no energy for dump step(s) "
            f"{', '.join(map(str, missing[:5]))}{' ...' if len(missing) > 5 else ''} "
            f"({len(missing)} of {len(frames)} snapshots)"
        )
    for f in frames:
        f.energy = by_step[f.step]


# ----------------------------------------------------------------------------
# writing (fixtures, toy data)


def write_dataset(
    name: str,
    frames: Sequence[Frame],
    units: str,
    reference: str,
    comments: Sequence[str] = (),
    dimension: Optional[int] = None,
    mu_column: bool = False,
) -> Tuple[str, str]:
    """``mu_column``: write each frame's mu as a third column (``# step pe mu``)."""
    dump_path, energy_path = dataset_paths(name)
    with open(dump_path, "w") as fh:
        for f in frames:
            write_dump_frame(fh, f)
    with open(energy_path, "w") as fh:
        fh.write(f"# units {units}\n")
        fh.write(f"# hbar {hbar_for(units)!r}\n")
        if dimension is not None:
            fh.write(f"# dimension {dimension}\n")
        fh.write(f"# {reference}\n")
        for c in comments:
            fh.write(f"# {c}\n")
        fh.write("# step pe mu\n" if mu_column else "# step pe\n")
        for f in frames:
            fh.write(f"{f.step} {f.energy:.17g}" + (f" {f.mu:.17g}\n" if mu_column else "\n"))
    return dump_path, energy_path


def write_dump_frame(fh, f: Frame) -> None:
    box = f.box
    flags = " ".join("pp" if p else "ff" for p in box.periodic)
    fh.write(f"ITEM: TIMESTEP\n{f.step}\nITEM: NUMBER OF ATOMS\n{f.n_atoms}\n")
    lo = box.origin
    hi = lo + np.diag(box.cell)
    if box.is_orthogonal:
        fh.write(f"ITEM: BOX BOUNDS {flags}\n")
        for k in range(3):
            fh.write(f"{lo[k]:.16e} {hi[k]:.16e}\n")
    else:
        xy, xz, yz = box.cell[1, 0], box.cell[2, 0], box.cell[2, 1]
        xlo_b = lo[0] + min(0.0, xy, xz, xy + xz)
        xhi_b = hi[0] + max(0.0, xy, xz, xy + xz)
        ylo_b = lo[1] + min(0.0, yz)
        yhi_b = hi[1] + max(0.0, yz)
        fh.write(f"ITEM: BOX BOUNDS xy xz yz {flags}\n")
        fh.write(f"{xlo_b:.16e} {xhi_b:.16e} {xy:.16e}\n{ylo_b:.16e} {yhi_b:.16e} {xz:.16e}\n{lo[2]:.16e} {hi[2]:.16e} {yz:.16e}\n")
    extra = list(f.extra)
    fh.write("ITEM: ATOMS id type x y z spx spy spz sp fmx fmy fmz" + "".join(" " + c for c in extra) + "\n")
    cols = [f.ids[:, None], f.types[:, None], f.positions, f.spin_dir, f.spin_mag[:, None], f.fm] + [f.extra[c][:, None] for c in extra]
    table = np.concatenate([np.asarray(c, float) for c in cols], axis=1)
    for row in table:
        fh.write(f"{int(row[0])} {int(row[1])} " + " ".join(f"{v:.17g}" for v in row[2:]) + "\n")
