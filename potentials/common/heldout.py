#!/usr/bin/python3
"""Blind-test metrics of a shipped model: per-trajectory transverse-field R^2 and RMSE,
and a bootstrap 95% interval of the pooled R^2 over trajectories.

    heldout.py --model NAME/model.pt --out NAME/blind_test.json DATA/blind_q12_s401 ...

Each data set (a trajectory, or a set of independent configurations) is one unit of the
bootstrap: snapshots of one trajectory are correlated, so resampling snapshots would
understate the spread between trajectories. The pooled R^2 is that of all transverse
components of all units together (1 - SS_res / SS_tot, as mlspin-train reports it); the
interval is the 2.5 and 97.5 percentiles of the pooled R^2 over resamples of the units
with replacement (the percentile bootstrap, Efron and Tibshirani, "An Introduction to
the Bootstrap", 1993, ch. 13). With --stratify, units are resampled within their kind
(the name without its _s<seed> suffix), so that every resample keeps the design's
number of quenches and of configuration sets.

Evaluate a blind set once, after every choice about the model is made; it is not for
choosing between models.

Models with the mu input (contract 2) are evaluated at each snapshot's mu (the
reference's), and the local electron numbers n_i against the reference's (dump column
ne) are reported too. With --filling-solve, snapshots of a canonical reference
(sd/tb ``filling f``) are instead evaluated at the model's own chemical potential,
solved so that its N_e = sum_i n_i = 2fN, as pair_style mlspin ``filling f`` does in
a run: the fields then carry the error of the model's mu as well.
"""

import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

from mlspin_train.dataset import file_sha256, read_dataset  # noqa: E402
from mlspin_train.evaluation import metrics, predict_items  # noqa: E402
from mlspin_train.export import load_model  # noqa: E402
from mlspin_train.graph import collate, prepare  # noqa: E402
from mlspin_train.physics import hbar_for, predict, transverse  # noqa: E402
from mlspin_train.runtime import set_threads  # noqa: E402

# sufficient statistics of one unit's transverse components: count, sum and sum of
# squares of the reference, sum of squared errors
STATS = ("n", "sum_ref", "sum_ref2", "ss_res")


def unit_stats(pred, ref):
    """Sufficient statistics (STATS) of the pooled R^2 for one unit."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    r = np.asarray(ref, dtype=np.float64).ravel()
    return np.array([r.size, r.sum(), (r * r).sum(), ((p - r) ** 2).sum()])


def pooled_r2(stats):
    """R^2 of all units together from rows of STATS (the last axis); the squared
    deviations are taken from the pooled mean, as in physics.regression_metrics."""
    s = np.asarray(stats, dtype=np.float64)
    n, s1, s2, res = s[..., 0], s[..., 1], s[..., 2], s[..., 3]
    ss_tot = s2 - s1 * s1 / n
    return 1.0 - res / ss_tot


def pooled_rmse(stats):
    s = np.asarray(stats, dtype=np.float64)
    return float(np.sqrt(s[..., 3].sum() / s[..., 0].sum()))


def kind_of(name):
    """blind_q12_s401 -> blind_q12: the stratum of a unit."""
    return re.sub(r"_s\d+$", "", name)


def bootstrap_r2(stats, strata=None, resamples=10000, seed=20261203, level=0.95):
    """Percentile interval of the pooled R^2 over resamples of the units (rows of
    stats) with replacement, within each stratum if strata (one label per unit) is
    given. Returns (low, high, the resampled values)."""
    stats = np.asarray(stats, dtype=np.float64)
    labels = np.zeros(len(stats), dtype=int) if strata is None else np.unique(strata, return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    total = np.zeros((resamples, stats.shape[1]))
    for g in np.unique(labels):
        members = np.flatnonzero(labels == g)
        pick = members[rng.integers(0, len(members), size=(resamples, len(members)))]
        total += stats[pick].sum(axis=1)
    values = pooled_r2(total)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high), values


def model_electrons(module, item, mu, hbar):
    """N_e = sum_i n_i of the model on one prepared snapshot at chemical potential mu."""
    import torch

    batch = collate([item])
    batch.mu = torch.full_like(batch.mu, mu)
    return float(predict(module, batch, hbar).density.sum())


def solve_mu(electrons_at, n_target, mu_range, rtol=1e-12):
    """mu with electrons_at(mu) = n_target by bisection inside mu_range (electrons_at is
    nondecreasing, as N_e(mu)); SystemExit when the range cannot reach the target."""
    lo, hi = mu_range
    n_lo, n_hi = electrons_at(lo), electrons_at(hi)
    if not n_lo <= n_target <= n_hi:
        raise SystemExit(f"the electron number {n_target:g} is outside [{n_lo:g}, {n_hi:g}], "
                         f"the model's values at the ends of mu_range {list(mu_range)}")
    while hi - lo > 1e-14 * max(1.0, abs(lo)):
        mid = 0.5 * (lo + hi)
        n_mid = electrons_at(mid)
        if abs(n_mid - n_target) <= rtol * n_target:
            return mid
        lo, hi = (mid, hi) if n_mid < n_target else (lo, mid)
    return 0.5 * (lo + hi)


def evaluate_unit(module, meta, path, filling_solve=False):
    """mlspin-train's metrics of one data set, its STATS row and, with filling_solve,
    the model's mu of each canonical snapshot against the reference's."""
    ds = read_dataset(path)
    if ds.units is not None and ds.units != meta["units"]:
        raise SystemExit(f"{path}: data in units {ds.units}, the model in {meta['units']}")
    type_map = {1: meta["species"].index("site") if "site" in meta["species"] else 0}
    import torch

    dtype = torch.float64 if meta["dtype"] == "float64" else torch.float32
    takes_mu = "mu" in meta.get("inputs", [])
    hbar = hbar_for(meta["units"])
    items = prepare(ds.frames, type_map, float(meta["cutoff"]), dtype=dtype, mu_input=takes_mu)
    mu_shift = []
    if filling_solve and takes_mu:
        for fr, item in zip(ds.frames, items):
            if fr.filling is None:
                continue
            mu = solve_mu(lambda m: model_electrons(module, item, m, hbar), 2.0 * fr.filling * fr.n_atoms,
                          meta["mu_range"])
            mu_shift.append(mu - fr.mu)
            item["mu"] = torch.full_like(item["mu"], mu)
    pred = predict_items(module, items, hbar)
    m = metrics(pred)
    row = unit_stats(transverse(pred["fm"], pred["spin"]).numpy(), transverse(pred["fm_ref"], pred["spin"]).numpy())
    density_row = unit_stats(pred["density"].numpy(), pred["density_ref"].numpy()) if "density" in pred else None
    return ds, m, row, mu_shift, density_row


def markdown_table(units, pooled, by_kind):
    """The model card's table: one row per unit, then each kind and all units pooled."""
    lines = ["| unit | snapshots x spins | transverse fm RMSE | transverse fm R^2 |", "|---|---|---|---|"]
    for u in units:
        spins = "/".join(str(a) for a in u["atoms_per_snapshot"])
        lines.append(f"| {u['name']} | {u['snapshots']} x {spins} | {u['transverse_rmse']:.2g} | {u['transverse_r2']:.4f} |")
    rows = list(by_kind.items()) if len(by_kind) > 1 else []
    for kind, k in rows:
        if k["units"] == 1:  # a bootstrap over one unit says nothing about the spread
            continue
        lines.append(f"| {kind}: {k['units']} units pooled | | {k['transverse_rmse']:.2g} | "
                     f"{k['transverse_r2']:.4f} (95%: {k['ci95'][0]:.4f}-{k['ci95'][1]:.4f}) |")
    lines.append(f"| **all {pooled['units']} units pooled** | | {pooled['transverse_rmse']:.2g} | "
                 f"**{pooled['transverse_r2']:.4f}** (95%: {pooled['ci95'][0]:.4f}-{pooled['ci95'][1]:.4f}) |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="data sets (NAME, NAME.dump or NAME.energy), one per unit")
    p.add_argument("--model", required=True)
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--resamples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=20261203, help="bootstrap RNG seed")
    p.add_argument("--stratify", action="store_true", help="resample within each kind of unit")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--markdown", action="store_true", help="also print the table of the model card")
    p.add_argument("--filling-solve", action="store_true",
                   help="mu models: canonical snapshots at the model's own mu (N_e = 2fN), as pair_style mlspin filling")
    args = p.parse_args(argv)
    if args.resamples < 1:
        p.error("--resamples must be positive")

    set_threads(args.threads)
    module, meta = load_model(args.model)
    units, rows, density_rows = [], [], []
    for path in args.data:
        ds, m, row, mu_shift, density_row = evaluate_unit(module, meta, path, args.filling_solve)
        if density_row is not None:
            density_rows.append(density_row)
        t = m["transverse_field"]
        extra = {}
        if "density" in m:
            extra.update(density_r2=m["density"]["r2"], density_rmse=m["density"]["rmse"])
        if mu_shift:
            extra.update(model_mu_minus_reference=[float(x) for x in mu_shift])
        units.append({
            "name": ds.name, "kind": kind_of(ds.name), "snapshots": len(ds.frames),
            "atoms_per_snapshot": sorted({f.n_atoms for f in ds.frames}),
            "transverse_r2": t["r2"], "transverse_rmse": t["rmse"], "transverse_ref_std": t["ref_std"],
            "field_rmse": m["field"]["rmse"], "energy_per_atom_rmse": m.get("energy_per_atom", {}).get("rmse"),
            "sha256": ds.summary()["sha256"], **extra,
        })
        rows.append(row)
        more = f", density R2 {extra['density_r2']:.4f}" if "density_r2" in extra else ""
        if mu_shift:
            more += f", model mu - reference mu {np.mean(mu_shift):+.4f} (max |.| {np.max(np.abs(mu_shift)):.4f})"
        print(f"{ds.name}: {len(ds.frames)} snapshots, transverse R2 {t['r2']:.5f} RMSE {t['rmse']:.4g}{more}", flush=True)
    rows = np.array(rows)
    strata = [u["kind"] for u in units] if args.stratify else None
    low, high, _ = bootstrap_r2(rows, strata, args.resamples, args.seed)
    pooled = {"transverse_r2": float(pooled_r2(rows.sum(0))), "transverse_rmse": pooled_rmse(rows),
              "ci95": [low, high], "resamples": args.resamples, "bootstrap_seed": args.seed,
              "stratified": bool(args.stratify), "units": len(units),
              "filling_solve": bool(args.filling_solve)}
    if density_rows:
        pooled["density_r2"] = float(pooled_r2(np.array(density_rows).sum(0)))
        pooled["density_r2_ci95"] = list(bootstrap_r2(np.array(density_rows), strata, args.resamples, args.seed)[:2])
    by_kind = {}
    for kind in sorted({u["kind"] for u in units}):
        sel = [i for i, u in enumerate(units) if u["kind"] == kind]
        lo, hi, _ = bootstrap_r2(rows[sel], None, args.resamples, args.seed)
        by_kind[kind] = {"units": len(sel), "transverse_r2": float(pooled_r2(rows[sel].sum(0))),
                         "transverse_rmse": pooled_rmse(rows[sel]), "ci95": [lo, hi]}
    print(f"pooled over {len(units)} units: transverse R2 {pooled['transverse_r2']:.5f} "
          f"(95% bootstrap interval {low:.5f} - {high:.5f}), RMSE {pooled['transverse_rmse']:.4g}")
    if density_rows:
        dlo, dhi = pooled["density_r2_ci95"]
        print(f"pooled density n_i R2 {pooled['density_r2']:.5f} (95% bootstrap interval {dlo:.5f} - {dhi:.5f})")
    if len(by_kind) > 1:
        for kind, k in by_kind.items():
            print(f"  {kind}: {k['units']} units, R2 {k['transverse_r2']:.5f} ({k['ci95'][0]:.5f} - {k['ci95'][1]:.5f})")
    if args.markdown:
        print(markdown_table(units, pooled, by_kind))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"model": os.path.relpath(args.model, os.path.dirname(os.path.abspath(args.out))), "model_sha256": file_sha256(args.model), "units": units, "pooled": pooled, "by_kind": by_kind}, fh, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
