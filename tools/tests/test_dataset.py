"""The dump/energy data format: reading by column name, boxes, errors."""

import numpy as np
import pytest

from mlspin_train.dataset import DataError, Frame, parse_hamiltonian, read_dataset, read_dump, write_dataset
from mlspin_train.lattice import make_lattice


def make_frames(kind="square", n=2, seed=0):
    rng = np.random.default_rng(seed)
    pos, box = make_lattice(kind, 3, 4)
    frames = []
    for step in range(n):
        s = rng.normal(size=(len(pos), 3))
        frames.append(Frame(step * 10, box, np.arange(1, len(pos) + 1), np.ones(len(pos), dtype=np.int64), pos + 0.0,
                            s / np.linalg.norm(s, axis=1, keepdims=True), rng.uniform(0.5, 2, len(pos)), rng.normal(size=(len(pos), 3)),
                            energy=float(rng.normal()), extra={"ne": rng.uniform(size=len(pos))}))
    return frames


@pytest.mark.parametrize("kind", ["square", "triangular"])  # orthogonal and triclinic boxes
def test_write_read_round_trip(tmp_path, kind):
    frames = make_frames(kind)
    name = str(tmp_path / "set")
    write_dataset(name, frames, "lj", "sd/tb hop 1.0 J 6.0 filling 0.485 kT 0.01 solver ed", dimension=2)
    ds = read_dataset(name)
    assert ds.units == "lj" and ds.dimension == 2
    assert ds.reference["style"] == "sd/tb" and ds.reference["parameters"]["J"] == 6.0
    for a, b in zip(frames, ds.frames):
        assert a.step == b.step and a.energy == b.energy
        np.testing.assert_allclose(b.box.cell, a.box.cell, atol=1e-14)
        np.testing.assert_allclose(b.box.origin, a.box.origin, atol=1e-14)
        for attr in ("positions", "spin_dir", "spin_mag", "fm"):
            np.testing.assert_allclose(getattr(b, attr), getattr(a, attr), rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(b.extra["ne"], a.extra["ne"])


def shuffled_dump(src, dst, rng):
    """Rewrite a dump with its columns and atom lines in another order."""
    lines = open(src).read().splitlines()
    out, k = [], 0
    while k < len(lines):
        line = lines[k]
        out.append(line)
        if line.startswith("ITEM: NUMBER OF ATOMS"):
            n = int(lines[k + 1])
        if line.startswith("ITEM: ATOMS"):
            cols = line.split()[2:]
            perm = rng.permutation(len(cols))
            out[-1] = "ITEM: ATOMS " + " ".join(cols[p] for p in perm)
            rows = [lines[k + 1 + j].split() for j in range(n)]
            for j in rng.permutation(n):
                out.append(" ".join(rows[j][p] for p in perm))
            k += n
        k += 1
    open(dst, "w").write("\n".join(out) + "\n")


def test_columns_are_found_by_name_and_atoms_sorted_by_id(tmp_path):
    frames = make_frames()
    write_dataset(str(tmp_path / "a"), frames, "lj", "sd/tb hop 1 J 2 filling 0.3")
    shuffled_dump(tmp_path / "a.dump", tmp_path / "b.dump", np.random.default_rng(3))
    (tmp_path / "b.energy").write_text((tmp_path / "a.energy").read_text())
    a, b = read_dataset(str(tmp_path / "a")), read_dataset(str(tmp_path / "b"))
    for fa, fb in zip(a.frames, b.frames):
        np.testing.assert_array_equal(fa.ids, fb.ids)
        np.testing.assert_array_equal(fa.fm, fb.fm)
        np.testing.assert_array_equal(fa.positions, fb.positions)


def test_column_map_renames_lammps_compute_columns(tmp_path):
    write_dataset(str(tmp_path / "a"), make_frames(n=1), "lj", "sd/tb hop 1 J 2 filling 0.3")
    text = (tmp_path / "a.dump").read_text().replace(" fmx fmy fmz", " c_f[1] c_f[2] c_f[3]")
    (tmp_path / "a.dump").write_text(text)
    with pytest.raises(DataError, match="lacks column.*fmx"):
        read_dataset(str(tmp_path / "a"))
    ds = read_dataset(str(tmp_path / "a"), column_map={"fmx": "c_f[1]", "fmy": "c_f[2]", "fmz": "c_f[3]"})
    assert ds.frames[0].fm.shape == (12, 3)


def test_mismatched_steps_are_reported(tmp_path):
    write_dataset(str(tmp_path / "a"), make_frames(n=3), "lj", "sd/tb hop 1 J 2 filling 0.3")
    lines = (tmp_path / "a.energy").read_text().splitlines()
    (tmp_path / "a.energy").write_text("\n".join(l for l in lines if not l.startswith("20 ")) + "\n")
    with pytest.raises(DataError, match="no energy for dump step.*20"):
        read_dataset(str(tmp_path / "a"))


def test_missing_energy_file_and_bad_lines(tmp_path):
    write_dataset(str(tmp_path / "a"), make_frames(n=1), "lj", "sd/tb hop 1 J 2 filling 0.3")
    (tmp_path / "a.energy").unlink()
    with pytest.raises(DataError, match="energy file .*a.energy not found"):
        read_dataset(str(tmp_path / "a"))
    assert len(read_dataset(str(tmp_path / "a"), require_energy=False).frames) == 1
    (tmp_path / "a.energy").write_text("# units lj\n0 -1.0 \nnot a number\n")
    with pytest.raises(DataError, match="a.energy:3: expected 'step pe'"):
        read_dataset(str(tmp_path / "a"))


def test_triclinic_box_bounds_follow_lammps_convention(tmp_path):
    # LAMMPS writes bounding-box values: xlo_bound = xlo + min(0, xy, xz, xy + xz) etc.
    dump = """ITEM: TIMESTEP
5
ITEM: NUMBER OF ATOMS
1
ITEM: BOX BOUNDS xy xz yz pp pp pp
-1.5 4.0 -1.5
0.0 3.0 0.5
0.0 2.0 0.0
ITEM: ATOMS id type x y z spx spy spz sp fmx fmy fmz
1 1 0.0 0.0 0.0 0 0 1 1 0 0 0
"""
    (tmp_path / "t.dump").write_text(dump)
    frame = next(read_dump(str(tmp_path / "t.dump")))
    # xlo = -1.5 - min(0, -1.5, 0.5, -1.0) = 0; xhi = 4.0 - max(0, -1.5, 0.5, -1.0) = 3.5
    np.testing.assert_allclose(frame.box.origin, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(frame.box.cell, [[3.5, 0, 0], [-1.5, 3.0, 0], [0.5, 0.0, 2.0]])


def test_general_triclinic_and_scaled_positions(tmp_path):
    dump = """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
1
ITEM: BOX BOUNDS abc origin pp pp ff
2.0 0.0 0.0 1.0
1.0 2.0 0.0 0.0
0.0 0.0 3.0 -1.0
ITEM: ATOMS id type xs ys zs spx spy spz fmx fmy fmz
1 1 0.5 0.5 0.5 0 3 4 0 0 0
"""
    (tmp_path / "g.dump").write_text(dump)
    frame = next(read_dump(str(tmp_path / "g.dump")))
    np.testing.assert_allclose(frame.positions, [[1.0 + 1.5, 1.0, 0.5]])
    np.testing.assert_array_equal(frame.box.periodic, [True, True, False])
    # without an sp column the magnitude is the length of (spx, spy, spz)
    np.testing.assert_allclose(frame.spin_mag, [5.0])
    np.testing.assert_allclose(frame.spin_dir, [[0, 0.6, 0.8]])


def test_parse_hamiltonian_keywords():
    ref = parse_hamiltonian("sd/tb hop 1.0 -0.2 J 6.0 filling 0.485 kT 0.01 solver kpm moments 400 vectors 8")
    assert ref["style"] == "sd/tb"
    assert ref["parameters"] == {"hop": [1.0, -0.2], "J": 6.0, "filling": 0.485, "kT": 0.01, "solver": "kpm", "moments": 400.0, "vectors": 8.0}


def test_reads_the_sd_tb_example_output_format(tmp_path):
    """The layout of doc/dataset_format.rst: open z boundary, 'pair_style' header,
    extra comments and electron columns."""
    (tmp_path / "q.dump").write_text(
        """ITEM: TIMESTEP
0
ITEM: NUMBER OF ATOMS
2
ITEM: BOX BOUNDS xy xz yz pp pp ff
0.0000000000000000e+00 3.0000000000000000e+00 1.0000000000000000e+00
0.0000000000000000e+00 1.7320508075688772e+00 0.0000000000000000e+00
-5.0000000000000000e-01 5.0000000000000000e-01 0.0000000000000000e+00
ITEM: ATOMS id type x y z spx spy spz sp fmx fmy fmz ne mex mey mez
2 1 1.1 0.1 0 0 0 1 1 0.1 0.2 2.9 0.5 0.0 0.0 0.97
1 1 0.1 0.1 0 1 0 0 1 2.8 0.3 0.1 0.5 0.93 0.0 0.0
"""
    )
    (tmp_path / "q.energy").write_text(
        "# units lj\n# hbar 0.15915494309189535\n# pair_style sd/tb hop 1.0 J 3.0 filling 0.25 kT 0.01 solver ed\n"
        "# lattice triangular 2x1, fix llg alpha 0.5, dt 0.01, T 0, seed 7310\n# step pe\n0 -1.2345678901234567\n"
    )
    ds = read_dataset(str(tmp_path / "q"))
    assert ds.units == "lj" and ds.dimension == 2
    assert ds.reference["style"] == "sd/tb"
    assert ds.reference["parameters"] == {"hop": 1.0, "J": 3.0, "filling": 0.25, "kT": 0.01, "solver": "ed"}
    frame = ds.frames[0]
    np.testing.assert_array_equal(frame.ids, [1, 2])
    np.testing.assert_array_equal(frame.box.periodic, [True, True, False])
    np.testing.assert_allclose(frame.fm[0], [2.8, 0.3, 0.1])
    assert sorted(frame.extra) == ["mex", "mey", "mez", "ne"]
    assert frame.energy == -1.2345678901234567


def test_fm_of_lj_data_written_with_hbar_1_is_converted(tmp_path):
    # data of mlspin versions with hbar = 1 in units lj: the same dE/dS gives fm smaller by 2 pi
    frames = make_frames(n=2)
    name = str(tmp_path / "old")
    dump, energy = write_dataset(name, frames, "lj", "sd/tb hop 1 J 2 filling 0.3")
    with open(energy) as fh:
        text = fh.read()
    assert "# hbar 0.15915494309189535\n" in text
    with open(energy, "w") as fh:
        fh.write(text.replace("# hbar 0.15915494309189535\n", "# hbar 1\n"))
    ds = read_dataset(name)
    for read, written in zip(ds.frames, frames):
        np.testing.assert_allclose(read.fm, written.fm * 2 * np.pi, rtol=1e-15)


def test_lj_data_without_hbar_is_refused(tmp_path):
    name = str(tmp_path / "bare")
    dump, energy = write_dataset(name, make_frames(n=1), "lj", "sd/tb hop 1 J 2 filling 0.3")
    with open(energy) as fh:
        text = fh.read()
    with open(energy, "w") as fh:
        fh.write("".join(line for line in text.splitlines(True) if not line.startswith("# hbar")))
    with pytest.raises(DataError, match="hbar"):
        read_dataset(name)
