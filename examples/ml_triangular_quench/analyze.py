#!/usr/bin/python3
"""Chiral domains after an ML-LLG quench of the triangular s-d model.

Reads the spin snapshots (dump) and the log of in.ml_triangular_quench and writes
  - a table of energy per site, mean chirality, mean |chirality| and domain lengths;
  - ml_triangular_quench.png: the chirality field at the last snapshot, the chirality
    structure factor S(q) at several times, and the domain length L(t) and <|chi|>(t).

Domain lengths: L_C (where the correlation function of the sign of the site chirality
falls to 1/2) and L_W (mean chord length, from the density of domain walls), both
insensitive to the amplitude of the order (tools/mlspin_train/coarsening.py,
doc/analysis.rst); the first moment 2 pi/<q> of S(q) of the raw chirality is printed for
comparison only: it grows with the order amplitude and the decay of noise, not only
with the domains. For growth exponents with error bars use several runs and
tools/mlspin-analyze coarsening.

Usage: analyze.py [dump] [log] [out.png]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mlspin_train.analysis import (TETRAHEDRAL_CHIRALITY, domain_length, radial_profile,  # noqa: E402
                                   read_thermo, reciprocal_lengths, structure_factor, triangle_chirality)
from mlspin_train.coarsening import domain_lengths, site_chirality  # noqa: E402
from mlspin_train.dataset import read_dump  # noqa: E402


def chirality_snapshots(dump_path):
    """(step, up-triangle chirality, down-triangle chirality) for every snapshot."""
    for frame in read_dump(dump_path):
        up, down = triangle_chirality(frame)
        yield frame.step, up, down


def draw_chirality(ax, up, down):
    """Both triangle sets of the rhombic torus, coloured by their chirality."""
    l1, l2 = up.shape
    m, n = np.meshgrid(np.arange(l1), np.arange(l2), indexing="ij")
    x0, y0 = m + 0.5 * n, n * np.sqrt(3) / 2
    corners_up = np.stack([np.stack([x0, y0], -1), np.stack([x0 + 1, y0], -1),
                           np.stack([x0 + 0.5, y0 + np.sqrt(3) / 2], -1)], axis=2)
    corners_down = corners_up + np.array([[0.0, 0.0], [0.5, np.sqrt(3) / 2], [-0.5, np.sqrt(3) / 2]])
    corners_down[..., 0, :] = corners_up[..., 1, :]
    from matplotlib.collections import PolyCollection
    polygons = np.concatenate([corners_up.reshape(-1, 3, 2), corners_down.reshape(-1, 3, 2)])
    values = np.concatenate([up.ravel(), down.ravel()]) / TETRAHEDRAL_CHIRALITY
    patches = PolyCollection(polygons, array=values, cmap="PuOr", edgecolors="none")
    patches.set_clim(-1, 1)
    ax.add_collection(patches)
    ax.set_xlim(0, 1.5 * l1)
    ax.set_ylim(0, l2 * np.sqrt(3) / 2)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return patches


def main():
    dump = sys.argv[1] if len(sys.argv) > 1 else "dump.ml_triangular_quench"
    log = sys.argv[2] if len(sys.argv) > 2 else "log.lammps"
    out = sys.argv[3] if len(sys.argv) > 3 else "ml_triangular_quench.png"
    thermo = read_thermo(log)
    time_of = dict(zip(thermo["Step"].astype(int), thermo["v_t"]))  # v_t: time in hbar/t
    energy_of = dict(zip(thermo["Step"].astype(int), thermo["PotEng"]))

    rows, profiles, last = [], [], None
    print(f"{'step':>8} {'time':>8} {'E/site':>12} {'<chi>':>9} {'<|chi|>':>9} {'L_C':>7} {'L_W':>7} {'2pi/<q>':>8}")
    for step, up, down in chirality_snapshots(dump):
        field = 0.5 * (up + down)
        q = reciprocal_lengths(*field.shape, "triangular")
        s_q = structure_factor(field)
        chi = np.concatenate([up.ravel(), down.ravel()])
        t = time_of.get(step, np.nan)
        lengths = domain_lengths(site_chirality(up, down), "triangular")
        row = (step, t, energy_of.get(step, np.nan), chi.mean(), np.abs(chi).mean(), domain_length(s_q, q),
               lengths["correlation"], lengths["chord"])
        rows.append(row)
        profiles.append((t, *radial_profile(s_q, q, bins=60, q_max=np.pi)))
        last = (up, down, t)
        print(f"{row[0]:8d} {row[1]:8.2f} {row[2]:12.6f} {row[3]:9.4f} {row[4]:9.4f} {row[6]:7.2f} {row[7]:7.2f} {row[5]:8.2f}")
    rows = np.array(rows)

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1.35, 1, 1]})
    patches = draw_chirality(axes[0], last[0], last[1])
    fig.colorbar(patches, ax=axes[0], shrink=0.8, label=r"$\chi / \chi_{\rm tetra}$")
    axes[0].set_title(f"scalar chirality of every triangle, t = {last[2]:.0f} / t_hop")

    colors = plt.cm.viridis(np.linspace(0, 1, len(profiles)))
    for (t, q, s), c in zip(profiles[1:], colors[1:]):
        axes[1].loglog(q, s, color=c, label=f"t = {t:.0f}")
    axes[1].set_xlabel(r"$|q|$")
    axes[1].set_ylabel(r"chirality structure factor $S_\chi(q)$")
    axes[1].legend(fontsize=7, ncol=2)

    t, length = rows[1:, 1], rows[1:, 6]
    axes[2].loglog(t, length, "o-", color="tab:purple", label="$L_C$ (sign correlation)")
    axes[2].loglog(t, rows[1:, 7], "s-", color="tab:green", label="$L_W$ (chord length)")
    axes[2].loglog(t, rows[1:, 5], ".", color="silver", label="$2\\pi/\\langle q\\rangle$ (amplitude-sensitive)")
    guide = length[-1] * (t / t[-1])
    axes[2].loglog(t, guide, "--", color="gray", label=r"$\propto t$")
    axes[2].loglog(t, length[-1] * np.sqrt(t / t[-1]), ":", color="gray", label=r"$\propto t^{1/2}$")
    axes[2].set_xlabel("t (1 / t_hop)")
    axes[2].set_ylabel("L (lattice constants)")
    twin = axes[2].twinx()
    twin.semilogx(t, rows[1:, 4] / TETRAHEDRAL_CHIRALITY, color="tab:orange")
    twin.set_ylabel(r"$\langle|\chi|\rangle / \chi_{\rm tetra}$", color="tab:orange")
    twin.set_ylim(0, 1.05)
    axes[2].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
