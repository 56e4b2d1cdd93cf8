"""Running LAMMPS with pair_style mlspin on one snapshot (for `check`).

Writes a data file (atom_style spin/lattice) and an input script, runs
``lmp`` (optionally under mpirun), and reads back the total energy, per-atom
energies, fm and forces.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .dataset import Frame, read_dump_tables

# LAMMPS force->nktv2p per unit style (update.cpp): pressure * volume = nktv2p * virial
NKTV2P = {"lj": 1.0, "real": 68568.415, "metal": 1.6021765e6, "si": 1.0, "cgs": 1.0, "electron": 2.94210108e13, "micro": 1.0, "nano": 1.0}

MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


def default_lmp() -> str:
    """build/lmp of the repository this package lives in."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "build", "lmp"))


@dataclass
class LammpsResult:
    energy: float
    site_energy: Optional[np.ndarray]  # [N], sorted by id
    fm: np.ndarray
    forces: np.ndarray
    virial: np.ndarray  # [6]: xx yy zz xy xz yz, energy units
    log: str
    density: Optional[np.ndarray] = None  # [N] n_i of compute mlspin/electrons (electrons=True)


def _run(cmd: List[str], cwd: str, timeout: float, stdin: Optional[str] = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **MPI_ENV)
    return subprocess.run(cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def style_available(lmp: str, kind: str, style: str, timeout: float = 60) -> Optional[str]:
    """None if ``lmp`` knows ``<kind>_style <style>`` with atom_style spin/lattice,
    else the reason why not."""
    if not (os.path.isfile(lmp) and os.access(lmp, os.X_OK)):
        return f"no LAMMPS executable at {lmp}"
    script = "units lj\natom_style spin/lattice\nregion b block 0 1 0 1 0 1\ncreate_box 1 b\n" f"{kind}_style {style}\n"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = _run([lmp, "-nocite", "-log", "none", "-echo", "none"], tmp, timeout, stdin=script)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{lmp} could not be run ({e})"
    text = res.stdout + res.stderr
    if "Unrecognized atom style" in text:
        return f"{lmp} lacks atom_style spin/lattice (mlspin plugin not loaded)"
    if f"Unrecognized {kind} style" in text:
        return f"{lmp} lacks {kind}_style {style}"
    return None


def write_data_file(path: str, frame: Frame, n_types: int) -> None:
    box = frame.box
    if not box.is_lammps_restricted:
        raise ValueError("the snapshot's cell is not a LAMMPS restricted triclinic cell (a along x, b in the xy plane)")
    lo = box.origin
    cell = box.cell
    frac = box.fractional(frame.positions)
    frac = np.where(box.periodic, frac - np.floor(frac), frac)
    pos = lo + frac @ cell
    with open(path, "w") as fh:
        fh.write("mlspin_train check snapshot\n\n")
        fh.write(f"{frame.n_atoms} atoms\n{n_types} atom types\n\n")
        for k, name in enumerate("xyz"):
            fh.write(f"{lo[k]:.17g} {lo[k] + cell[k, k]:.17g} {name}lo {name}hi\n")
        if not box.is_orthogonal:
            fh.write(f"{cell[1, 0]:.17g} {cell[2, 0]:.17g} {cell[2, 1]:.17g} xy xz yz\n")
        fh.write("\nAtoms # spin/lattice\n\n")
        for i in range(frame.n_atoms):
            d = frame.spin_dir[i]
            fh.write(
                f"{frame.ids[i]} {frame.types[i]} {pos[i, 0]:.17g} {pos[i, 1]:.17g} {pos[i, 2]:.17g} "
                f"{d[0]:.17g} {d[1]:.17g} {d[2]:.17g} {frame.spin_mag[i]:.17g}\n"
            )


def input_script(
    units: str,
    dimension: int,
    periodic: Sequence[bool],
    pair_style: str,
    pair_coeff: str,
    skin: float,
    per_atom_energy: bool,
    electrons: bool = False,
) -> str:
    # a 2D lattice runs as in the sd/tb examples: a 3D box open along z (no images
    # along z; 'dimension 2' would not change the model's inputs)
    boundary = " ".join("p" if p and not (dimension == 2 and k == 2) else "f" for k, p in enumerate(periodic))
    pe_col = (" c_pe" if per_atom_energy else "") + (" c_el" if electrons else "")
    lines = [
        f"units {units}",
        f"boundary {boundary}",
        "atom_style spin/lattice",
        "atom_modify map array",
        "read_data snapshot.data",
        "mass * 1.0",
        f"pair_style {pair_style}",
        f"pair_coeff {pair_coeff}",
        f"neighbor {skin:.6g} bin",
        "compute fm all property/atom fmx fmy fmz",
        "compute pe all pe/atom" if per_atom_energy else "",
        "compute vir all pressure NULL virial",
        "compute el all mlspin/electrons" if electrons else "",
        "thermo_style custom step pe",
        "thermo_modify norm no",
        f"dump d all custom 1 result.dump id type x y z fx fy fz c_fm[1] c_fm[2] c_fm[3]{pe_col}",
        "dump_modify d sort id format float %.17g",
        "run 0",
        'print "MLSPIN_PE $(pe:%.17g)"',
        'print "MLSPIN_VIRIAL' + "".join(f" $(c_vir[{k}]*vol:%.17g)" for k in range(1, 7)) + '"',
    ]
    return "\n".join(line for line in lines if line) + "\n"


def run_pair_style(
    lmp: str,
    model_path: str,
    frame: Frame,
    species: Sequence[str],
    units: str,
    dimension: int,
    cutoff: float,
    ranks: int = 1,
    pair_style: str = "mlspin",
    pair_coeff: str = "* * {model} {species}",
    per_atom_energy: bool = True,
    timeout: float = 300,
    keep: Optional[str] = None,
    electrons: bool = False,
) -> LammpsResult:
    """Evaluate one snapshot with LAMMPS; LAMMPS type k is species[k-1]; ``electrons``:
    also the n_i of compute mlspin/electrons (a model with the mu input)."""
    tmp = tempfile.mkdtemp(prefix="mlspin_check_")
    try:
        write_data_file(os.path.join(tmp, "snapshot.data"), frame, len(species))
        coeff = pair_coeff.format(model=os.path.abspath(model_path), species=" ".join(species))
        script = input_script(units, dimension, frame.box.periodic, pair_style, coeff, 0.1 * cutoff, per_atom_energy, electrons)
        with open(os.path.join(tmp, "in.check"), "w") as fh:
            fh.write(script)
        cmd = [lmp, "-nocite", "-log", "log.lammps", "-in", "in.check"]
        if ranks > 1:
            mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
            if mpirun is None:
                raise RuntimeError("mpirun not found: cannot run LAMMPS on several ranks")
            cmd = [mpirun, "-np", str(ranks)] + cmd
        res = _run(cmd, tmp, timeout)
        text = res.stdout + res.stderr
        if res.returncode != 0:
            errors = [line for line in text.splitlines() if "ERROR" in line] or text.splitlines()[-10:]
            raise RuntimeError(f"LAMMPS failed (exit {res.returncode}): " + " | ".join(errors[:5]))
        return _parse_result(tmp, text, per_atom_energy, NKTV2P.get(units, 1.0))
    finally:
        if keep:
            shutil.copytree(tmp, keep, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _parse_result(tmp: str, text: str, per_atom_energy: bool, nktv2p: float) -> LammpsResult:
    pe = [line.split()[1] for line in text.splitlines() if line.startswith("MLSPIN_PE")]
    vir = [line.split()[1:] for line in text.splitlines() if line.startswith("MLSPIN_VIRIAL")]
    if not pe or not vir:
        raise RuntimeError("LAMMPS output lacks the MLSPIN_PE or MLSPIN_VIRIAL line")
    tables = list(read_dump_tables(os.path.join(tmp, "result.dump")))
    if not tables:
        raise RuntimeError("LAMMPS wrote no dump")
    _, _, columns, data = tables[0]
    col = {c: data[:, k] for k, c in enumerate(columns)}
    order = np.argsort(col["id"])
    fm = np.stack([col[f"c_fm[{k}]"] for k in (1, 2, 3)], axis=1)[order]
    forces = np.stack([col[c] for c in ("fx", "fy", "fz")], axis=1)[order]
    site = col["c_pe"][order] if per_atom_energy else None
    virial = np.array(vir[0], dtype=float) / nktv2p
    density = col["c_el"][order] if "c_el" in col else None
    return LammpsResult(float(pe[0]), site, fm, forces, virial, text, density)
