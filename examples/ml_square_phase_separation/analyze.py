#!/usr/bin/python3
"""Ferromagnetic clusters and holes after ML-LLG quenches of the doped double-exchange model.

Reads the dumps of in.ml_square_phase_separation (columns id x y spx spy spz n neel fm;
one or more runs, e.g. the canonical quench and the fixed-mu one) and, where present,
their NAME.thermo tables (time, mu, N_e). Per snapshot:

  - ferromagnetic (FM) clusters: the connected components, on the periodic square
    lattice with its four nearest neighbours, of the sites with F_i - N_i > threshold
    (F_i, N_i: the local ferromagnetic and Neel order of compute mlspin/order square;
    threshold 0 by default, i.e. a site is FM when its local FM order exceeds its Neel
    order). Clusters smaller than --min-area sites are not counted.
  - their number, the area-weighted mean area A_w = sum a^2 / sum a and the linear size
    R = sqrt(A_w), the fraction of sites in clusters, and how many clusters wind around
    the torus ("wind": such a cluster's size is set by the lattice, not by coarsening);
  - holes: n_i is the local electron number of compute mlspin/electrons, both spin
    orientations (filling f per site and spin orientation: N_e = sum n_i = 2 f N, so
    n_i = 1 at half filling), and h_i = 1 - n_i the holes per site measured from half
    filling (negative where a site holds more than one electron). Printed: the mean
    hole density, the spread of n_i and the fraction of all holes that sit in FM
    clusters, sum_{i in FM} h_i / sum_i h_i.

Writes PREFIX.json (the table of every run), PREFIX_maps_LABEL.png (F_i - N_i and
h_i at chosen snapshots, one figure per run) and PREFIX_growth.png (R(t) log-log for all
runs with t^(1/2), t^(1/3) and flat guides, and the FM fraction and the holes in FM
clusters against t).

Usage: analyze.py DUMP [DUMP ...] [--labels A B] [--threshold 0] [--min-area 1]
                  [--snapshots STEP ...] [--dt 0.1] [--prefix square_ps]
"""
import argparse
import json
import os
import sys
from collections import deque

import numpy as np

COLUMNS = ("x", "y", "spx", "spy", "spz", "n", "neel", "fm")


# ---------------------------------------------------------------- reading

def read_dump(path):
    """Yield (step, box lengths (Lx, Ly), {column: array}, box origin (xlo, ylo)) for
    each snapshot of a LAMMPS text dump."""
    with open(path) as fh:
        while True:
            line = fh.readline()
            if not line:
                return
            if not line.startswith("ITEM: TIMESTEP"):
                continue
            step = int(fh.readline())
            fh.readline()
            natoms = int(fh.readline())
            fh.readline()
            bounds = [[float(v) for v in fh.readline().split()[:2]] for _ in range(3)]
            names = fh.readline().split()[2:]
            text = " ".join(fh.readline() for _ in range(natoms))
            data = np.array(text.split(), dtype=float).reshape(natoms, len(names))
            yield step, (bounds[0][1] - bounds[0][0], bounds[1][1] - bounds[1][0]), \
                {name: data[:, k] for k, name in enumerate(names)}, (bounds[0][0], bounds[1][0])


def to_grid(columns, lengths, origin):
    """The columns as L_x x L_y arrays indexed by site (x, y), spacing 1."""
    lx, ly = int(round(lengths[0])), int(round(lengths[1]))
    ix = np.rint(columns["x"] - origin[0]).astype(int) % lx
    iy = np.rint(columns["y"] - origin[1]).astype(int) % ly
    if len(ix) != lx * ly or len(set(zip(ix.tolist(), iy.tolist()))) != lx * ly:
        raise ValueError(f"the dump is not one site per point of a {lx} x {ly} square lattice of spacing 1")
    grids = {}
    for name in COLUMNS[2:]:
        grid = np.empty((lx, ly))
        grid[ix, iy] = columns[name]
        grids[name] = grid
    return grids


def read_thermo(path):
    """{step: (time, mu, N_e)} of a NAME.thermo table, or {} when there is none."""
    if not os.path.exists(path):
        return {}
    rows = np.loadtxt(path, comments="#", ndmin=2)
    return {int(r[0]): (r[1], r[3], r[4]) for r in rows}


# ---------------------------------------------------------------- local order and clusters

def local_order(spins):
    """(N_i, F_i) of compute mlspin/order square from unit spins [Lx, Ly, 3] (periodic):
    |s_i/2 -+ 1/8 sum_j s_j| over the four nearest neighbours j."""
    around = sum(np.roll(spins, shift, axis) for shift in (1, -1) for axis in (0, 1))
    neel = np.linalg.norm(0.5 * spins - 0.125 * around, axis=-1)
    fm = np.linalg.norm(0.5 * spins + 0.125 * around, axis=-1)
    return neel, fm


def fm_mask(neel, fm, threshold=0.0):
    """Sites counted as ferromagnetic: F_i - N_i > threshold."""
    return fm - neel > threshold


def label_clusters(mask):
    """Connected components of mask on the periodic square lattice (4 neighbours).
    Returns (labels, areas): labels -1 outside, 0..k-1 inside; areas[c] sites of c."""
    lx, ly = mask.shape
    labels = -np.ones(mask.shape, dtype=int)
    areas = []
    for start in zip(*np.nonzero(mask)):
        if labels[start] >= 0:
            continue
        labels[start] = len(areas)
        areas.append(_flood(mask, labels, start, lx, ly))
    return labels, np.array(areas, dtype=int)


def _flood(mask, labels, start, lx, ly):
    """Breadth-first fill of the component of start with its label; returns its area."""
    label, area, queue = labels[start], 0, deque([start])
    while queue:
        x, y = queue.popleft()
        area += 1
        for nx, ny in (((x + 1) % lx, y), ((x - 1) % lx, y), (x, (y + 1) % ly), (x, (y - 1) % ly)):
            if mask[nx, ny] and labels[nx, ny] < 0:
                labels[nx, ny] = label
                queue.append((nx, ny))
    return area


def wrapping(labels, count):
    """For each of count clusters, whether it winds around the torus (then its size is
    bounded by the lattice, not set by coarsening). A cluster winds around it when a
    breadth-first walk over it, carrying unwrapped coordinates, reaches one of its
    sites at two positions that differ by a lattice period."""
    lx, ly = labels.shape
    unwrapped = {}
    winds = np.zeros(count, dtype=bool)
    for start in zip(*np.nonzero(labels >= 0)):
        if start in unwrapped:
            continue
        unwrapped[start] = start
        winds[labels[start]] |= _walk(labels, unwrapped, start, lx, ly)
    return winds


def _walk(labels, unwrapped, start, lx, ly):
    """Unwrapped breadth-first walk over the cluster of start; True if it closes on itself
    across a period."""
    label, queue, closes = labels[start], deque([start]), False
    while queue:
        site = queue.popleft()
        ux, uy = unwrapped[site]
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            other = ((site[0] + dx) % lx, (site[1] + dy) % ly)
            if labels[other] != label:
                continue
            if other not in unwrapped:
                unwrapped[other] = (ux + dx, uy + dy)
                queue.append(other)
            elif unwrapped[other] != (ux + dx, uy + dy):
                closes = True
    return closes


def cluster_sizes(areas, min_area=1):
    """Number of clusters, area-weighted mean area sum a^2/sum a and R = sqrt of it
    (clusters of at least min_area sites; NaN sizes when there are none)."""
    kept = areas[areas >= min_area].astype(float)
    if len(kept) == 0:
        return 0, float("nan"), float("nan")
    weighted = float((kept ** 2).sum() / kept.sum())
    return len(kept), weighted, float(np.sqrt(weighted))


def hole_summary(n, in_fm):
    """Mean hole density <1 - n_i>, std of n_i and the fraction of the holes in FM sites."""
    holes = 1.0 - n
    total = holes.sum()
    inside = holes[in_fm].sum() / total if abs(total) > 1e-12 * n.size else float("nan")
    return float(holes.mean()), float(n.std()), float(inside)


# ---------------------------------------------------------------- one snapshot, one run

def analyse_snapshot(grids, threshold, min_area):
    """The table row of one snapshot, and the cluster labels (for the maps)."""
    mask = fm_mask(grids["neel"], grids["fm"], threshold)
    labels, areas = label_clusters(mask)
    kept = np.isin(labels, np.nonzero(areas >= min_area)[0])
    count, weighted, radius = cluster_sizes(areas, min_area)
    holes, n_std, inside = hole_summary(grids["n"], kept)
    winding = int(wrapping(labels, len(areas))[areas >= min_area].sum())
    row = {"clusters": count, "area_weighted": weighted, "R": radius, "winding": winding,
           "fm_fraction": float(kept.mean()),
           "hole_density": holes, "n_std": n_std, "holes_in_fm": inside,
           "neel_mean": float(grids["neel"].mean()), "fm_mean": float(grids["fm"].mean())}
    return row, labels


def analyse_run(dump, label, args, keep_steps):
    """The run's table (one row per snapshot of the dump) and, for the maps, the grids
    and cluster labels of the snapshots whose steps are in keep_steps and of the last."""
    thermo = read_thermo(os.path.splitext(dump)[0] + ".thermo")
    rows, kept, last = [], {}, None
    print(f"{label}: {dump}")
    print(f"{'step':>8} {'time':>8} {'mu':>10} {'N_e':>12} {'clusters':>8} {'R':>7} {'wind':>4} {'FM frac':>8} "
          f"{'<h>':>8} {'std n':>7} {'h in FM':>8}", flush=True)
    for step, lengths, columns, origin in read_dump(dump):
        grids = to_grid(columns, lengths, origin)
        row, labels = analyse_snapshot(grids, args.threshold, args.min_area)
        time, mu, ne = thermo.get(step, (step * args.dt, float("nan"), float("nan")))
        row = dict(step=step, time=float(time), mu=float(mu), N_e=float(ne), **row)
        rows.append(row)
        print(f"{step:8d} {time:8.1f} {mu:10.5f} {ne:12.6f} {row['clusters']:8d} {row['R']:7.2f} {row['winding']:4d} "
              f"{row['fm_fraction']:8.4f} {row['hole_density']:8.5f} {row['n_std']:7.4f} {row['holes_in_fm']:8.3f}",
              flush=True)
        last = (step, time, grids, labels)
        if keep_steps is not None and step in keep_steps:
            kept[step] = last
    if last is not None:
        kept.setdefault(last[0], last)
    return {"label": label, "dump": dump, "L": list(last[2]["n"].shape) if last else None,
            "threshold": args.threshold, "min_area": args.min_area, "snapshots": rows}, kept


# ---------------------------------------------------------------- pictures

def draw_maps(path, label, kept):
    """Two rows (F_i - N_i with the cluster outlines; h_i = 1 - n_i on one colour scale
    for all snapshots), one column per snapshot."""
    import matplotlib.pyplot as plt
    steps = sorted(kept)
    fig, axes = plt.subplots(2, len(steps), figsize=(3.2 * len(steps) + 1.0, 6.4), squeeze=False)
    holes_lo = min((1.0 - kept[s][2]["n"]).min() for s in steps)
    holes_hi = max((1.0 - kept[s][2]["n"]).max() for s in steps)
    for col, step in enumerate(steps):
        _, time, grids, labels = kept[step]
        order = axes[0, col].imshow((grids["fm"] - grids["neel"]).T, origin="lower", cmap="RdBu_r", vmin=-1, vmax=1)
        axes[0, col].contour((labels >= 0).T.astype(float), levels=[0.5], colors="k", linewidths=0.4)
        holes = axes[1, col].imshow((1.0 - grids["n"]).T, origin="lower", cmap="viridis",
                                   vmin=holes_lo, vmax=max(holes_hi, holes_lo + 1e-6))
        axes[0, col].set_title(f"t = {time:g}")
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(order, ax=axes[0, :].tolist(), label="F_i - N_i (red: FM, blue: Neel)")
    fig.colorbar(holes, ax=axes[1, :].tolist(), label="holes h_i = 1 - n_i")
    fig.suptitle(label)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_growth(path, runs):
    """R(t) log-log for every run with guides, and the FM fraction and holes in FM."""
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    for run in runs:
        t = np.array([r["time"] for r in run["snapshots"]])
        radius = np.array([r["R"] for r in run["snapshots"]])
        good = (t > 0) & np.isfinite(radius)
        ax.loglog(t[good], radius[good], "o-", ms=3, label=run["label"])
        bx.plot(t, [r["fm_fraction"] for r in run["snapshots"]], "-", label=f"{run['label']}: FM fraction")
        bx.plot(t, [r["holes_in_fm"] for r in run["snapshots"]], "--", label=f"{run['label']}: holes in FM")
    add_guides(ax, runs)
    ax.set_xlabel("t (hbar/t)")
    ax.set_ylabel("R = sqrt(area-weighted mean cluster area)")
    ax.legend(fontsize=8)
    bx.set_xlabel("t (hbar/t)")
    bx.set_ylim(0, 1.05)
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def add_guides(ax, runs):
    """t^(1/2), t^(1/3) and flat lines through the last point of the first run."""
    rows = [r for r in runs[0]["snapshots"] if r["time"] > 0 and np.isfinite(r["R"])]
    if len(rows) < 2:
        return
    t = np.geomspace(rows[0]["time"], rows[-1]["time"], 20)
    t1, r1 = rows[-1]["time"], rows[-1]["R"]
    for power, style, name in ((0.5, ":", "t^(1/2)"), (1 / 3, "-.", "t^(1/3)"), (0.0, "--", "flat")):
        ax.loglog(t, r1 * (t / t1) ** power, "k" + style, lw=0.8, label=name)


# ---------------------------------------------------------------- main

def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dumps", nargs="+", help="dumps of in.ml_square_phase_separation")
    p.add_argument("--labels", nargs="+", help="one name per dump (default: the file names)")
    p.add_argument("--threshold", type=float, default=0.0, help="a site is FM when F_i - N_i > threshold (default 0)")
    p.add_argument("--min-area", type=int, default=1, help="smallest cluster counted, in sites (default 1)")
    p.add_argument("--snapshots", nargs="+", type=int, help="steps to map (default: 3 spread over the run)")
    p.add_argument("--dt", type=float, default=0.1, help="time step in hbar/t, used without a NAME.thermo table")
    p.add_argument("--prefix", default="square_ps", help="output names PREFIX.json, PREFIX_*.png")
    args = p.parse_args(argv)
    if args.labels and len(args.labels) != len(args.dumps):
        p.error("--labels needs one name per dump")
    args.labels = args.labels or [os.path.splitext(os.path.basename(d))[0] for d in args.dumps]
    return args


def map_steps(dump, requested):
    """The steps to map: those requested, or the first after 0, the middle and the last."""
    if requested:
        return set(requested)
    steps = [s for s, _, _, _ in _headers(dump)]
    late = [s for s in steps if s > 0] or steps
    return {late[0], late[len(late) // 2], late[-1]}


def _headers(dump):
    """(step, None, None, None) per snapshot, without reading the atoms."""
    with open(dump) as fh:
        for line in fh:
            if line.startswith("ITEM: TIMESTEP"):
                yield int(next(fh)), None, None, None


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    import matplotlib
    matplotlib.use("Agg")
    runs = []
    for dump, label in zip(args.dumps, args.labels):
        run, kept = analyse_run(dump, label, args, map_steps(dump, args.snapshots))
        runs.append(run)
        draw_maps(f"{args.prefix}_maps_{label}.png", label, kept)
    draw_growth(f"{args.prefix}_growth.png", runs)
    with open(f"{args.prefix}.json", "w") as fh:
        json.dump({"criterion": f"FM site: F_i - N_i > {args.threshold}; clusters: periodic 4-neighbour components "
                                f"of at least {args.min_area} sites; R = sqrt(sum a^2 / sum a); holes h_i = 1 - n_i",
                   "runs": runs}, fh, indent=1)
    print(f"wrote {args.prefix}.json, {args.prefix}_maps_*.png, {args.prefix}_growth.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
