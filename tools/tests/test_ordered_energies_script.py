"""potentials/common/ordered_energies.py: the electron number read from the dump of
in.sd_tb_configs (no LAMMPS needed)."""

import os
import sys

import pytest

COMMON = os.path.join(os.path.dirname(__file__), "..", "..", "potentials", "common")
sys.path.insert(0, os.path.abspath(COMMON))

from ordered_energies import electrons_per_site  # noqa: E402


def snapshot(step, columns, rows):
    head = f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(rows)}\nITEM: BOX BOUNDS pp pp ff\n0 1\n0 1\n0 1\n"
    return head + "ITEM: ATOMS " + " ".join(columns) + "\n" + "".join(" ".join(map(str, r)) + "\n" for r in rows)


def test_electrons_per_site_is_the_mean_of_the_ne_column_of_each_snapshot(tmp_path):
    dump = tmp_path / "probe.dump"
    # the ne column found by name; the box lines (three numbers) must not be read as atoms
    first = snapshot(0, ["id", "type", "ne", "fmx"], [(1, 1, 0.25, 9.0), (2, 1, 0.75, 9.0)])
    second = snapshot(1, ["id", "ne", "type"], [(1, 0.4, 1), (2, 0.6, 1), (3, 0.8, 1)])
    dump.write_text(first + second)
    assert electrons_per_site(str(dump)) == pytest.approx([0.5, 0.6], abs=1e-15)
