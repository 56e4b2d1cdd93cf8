"""Command-line interface: mlspin-analyze <command> ... (see --help)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from typing import Dict, Optional, Sequence

import numpy as np

from . import __version__
from .coarsening import ESTIMATORS, CoarseningError, analyse, combine_runs, read_run

EPILOG = """typical use:
  mlspin-analyze coarsening --lattice triangular --dt 0.2 run1.dump run2.dump run3.dump
  mlspin-analyze coarsening --lattice square --json L.json --plot L.png runs/*.dump

One dump per independent run (seed), each with many snapshots. See tools/README.md
and doc/analysis.rst for the estimators and the fit window."""

LABELS = {
    "correlation": "correlation length L_C (C(L_C) = 1/2 of the sign field)",
    "chord": "chord length L_W (1 / fraction of bonds crossing a wall)",
    "first_moment": "old 2 pi/<|q|> of the raw field (amplitude-sensitive, comparison only)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlspin-analyze", description="Analysis of mlspin spin-dynamics runs.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"mlspin-analyze {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("coarsening", help="domain growth law L(t) ~ t^n from spin dumps of quench runs",
                       description="Domain length L(t) of the Ising-like order (chirality on the triangular lattice, "
                       "staggered or uniform magnetisation on the square lattice) by two amplitude-insensitive "
                       "estimators, and the growth exponent n of L ~ t^n.")
    c.add_argument("dumps", nargs="+", metavar="DUMP", help="LAMMPS text dumps (id x y z and spx spy spz or c_ID[1..3]), one per run")
    c.add_argument("--lattice", required=True, choices=["triangular", "square"], help="lattice of the sites")
    c.add_argument("--order", choices=["neel", "ferro"], default="neel", help="square lattice: the order whose domains grow (default neel)")
    c.add_argument("--dt", type=float, help="time per step (e.g. 0.2 for dt 0.2 hbar/t); default: the dump's TIME item, else 1 step")
    c.add_argument("--window", nargs=2, type=float, metavar=("T0", "T1"), help="fit window (default: chosen by the criteria in the docs)")
    c.add_argument("--saturation", type=float, help="saturation value of the order amplitude for the window (default: the late-time plateau)")
    c.add_argument("--json", metavar="OUT.json", help="write the results as JSON")
    c.add_argument("--plot", metavar="OUT.png", help="plot L(t) with the fits and the scaling collapse")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return coarsening(args)
    except CoarseningError as e:
        print(f"mlspin-analyze: error: {e}", file=sys.stderr)
        return 2


def coarsening(args) -> int:
    if args.dt is not None and not (args.dt > 0 and math.isfinite(args.dt)):
        raise CoarseningError(f"--dt must be a positive number, got {args.dt}")
    if args.window is not None and not (0 < args.window[0] < args.window[1]):
        raise CoarseningError(f"--window T0 T1 needs 0 < T0 < T1, got {args.window[0]:g} {args.window[1]:g}")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _print_warning
        results = [read_run(path, args.lattice, args.dt, args.order, args.quiet) for path in args.dumps]
        if args.dt is None and results[0].time_unit == "steps":
            warnings.warn("the dump has no TIME item (dump_modify time yes) and no --dt was given: time is the step number (dt = 1)")
        runs = combine_runs(results)
    out = analyse(runs, args.window, args.saturation)
    out["dumps"] = list(args.dumps)
    print_table(out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"wrote {args.json}")
    if args.plot:
        plot(out, runs, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _print_warning(message, category, filename, lineno, file=None, line=None):
    print(f"mlspin-analyze: warning: {message}", file=sys.stderr)


def _fmt(value: Optional[float], width: int = 8) -> str:
    return f"{'-':>{width}}" if value is None or not np.isfinite(value) else f"{value:{width}.3g}"


def print_table(out: Dict) -> None:
    est = out["estimators"]
    runs = len(out["runs"])
    print(f"{out['lattice']} lattice {out['grid'][0]} x {out['grid'][1]}, {runs} run(s), time unit: {out['time_unit']}; "
          "lengths in lattice constants (mean and standard error over runs)")
    print(f"{'t':>10} {'<|amp|>':>8} {'L_C':>8} {'+-':>7} {'L_W':>8} {'+-':>7} {'L_old':>8}  fit")
    c, w, o = (est[k]["table"] for k in ("correlation", "chord", "first_moment"))
    t0, t1 = est["correlation"]["window"]
    for k, t in enumerate(out["times"]):
        mark = "*" if t0 <= t <= t1 else ""
        print(f"{t:10.4g} {out['amplitude']['mean'][k]:8.4f} {_fmt(c['mean'][k])} {_fmt(c['sem'][k], 7)} "
              f"{_fmt(w['mean'][k])} {_fmt(w['sem'][k], 7)} {_fmt(o['mean'][k])}  {mark}")
    print(f"window: t = {t0:.4g} .. {t1:.4g} ({est['correlation']['snapshots_in_window']} snapshots; {est['correlation']['window_reason']})")
    for name in ESTIMATORS + ("first_moment",):
        e = est[name]
        if e["exponent"] is None:
            print(f"{name:>12}: no exponent ({e['note']})")
            continue
        print(f"{name:>12}: n = {e['exponent']:.3f} +- {_fmt(e['exponent_err'], 5).strip()} ({e['error_kind']})  [{LABELS[name]}]")


def plot(out: Dict, runs, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8))
    t = np.asarray(out["times"])
    positive = t > 0
    for name, color in zip(ESTIMATORS + ("first_moment",), ("tab:blue", "tab:green", "tab:gray")):
        e = out["estimators"][name]
        if e["exponent"] is None:
            continue
        mean = np.array([np.nan if v is None else v for v in e["table"]["mean"]])
        sem = np.array([np.nan if v is None else v for v in e["table"]["sem"]])
        ax.errorbar(t[positive], mean[positive], yerr=np.nan_to_num(sem[positive]), fmt="o", ms=3, color=color,
                    label=f"{name}: n = {e['exponent']:.2f} $\\pm$ {e['exponent_err'] or float('nan'):.2f}")
        t0, t1 = e["window"]
        inside = (t >= t0) & (t <= t1)
        tw = t[inside]
        prefactor = np.exp(np.mean(np.log(mean[inside]) - e["exponent"] * np.log(tw)))
        ax.loglog(tw, prefactor * tw ** e["exponent"], "-", color=color)
    t0, t1 = out["estimators"]["correlation"]["window"]
    ax.axvspan(t0, t1, color="0.93", zorder=0)
    anchor = np.array(out["estimators"]["correlation"]["table"]["mean"], dtype=float)[(t >= t0) & (t <= t1)][0]
    guide = np.array([t0, t[-1]])
    ax.loglog(guide, anchor * (guide / t0) ** 0.5, ":", color="k", label=r"$\propto t^{1/2}$")
    ax.loglog(guide, anchor * (guide / t0), "--", color="k", label=r"$\propto t$")
    ax.set_xlabel(f"t ({out['time_unit']})")
    ax.set_ylabel("L (lattice constants)")
    ax.legend(fontsize=8)
    ax.set_title("domain length; shaded: fit window")
    # scaling collapse: S(q, t) / L^d against q L, d = 2, with L = L_C
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # empty q bins, single-domain snapshots
        lengths = np.nanmean(np.where(np.isfinite(runs.lengths["correlation"]), runs.lengths["correlation"], np.nan), axis=0)
        s_mean = np.nanmean(runs.sign_sq, axis=0)
    inside = np.nonzero((t >= t0) & (t <= t1))[0]
    colors = plt.cm.viridis(np.linspace(0, 1, max(len(inside), 1)))
    for k, color in zip(inside, colors):
        bx.loglog(runs.q * lengths[k], s_mean[k] / lengths[k] ** 2, "-", color=color, label=f"t = {t[k]:.3g}")
    bx.set_xlabel(r"$q L_C$")
    bx.set_ylabel(r"$S_\sigma(q, t) / L_C^2$")
    bx.set_title("scaling collapse of the sign-field structure factor")
    bx.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
