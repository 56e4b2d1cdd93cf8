#!/usr/bin/python3
"""ML against the exact reference: accuracy and cost of each shipped potential, of
pair_style sd/tb KPM over a grid of Chebyshev moments x probing distances, and of ED,
measured in one run on one machine.

    bench/ml_vs_reference/run_bench.py [--potentials triangular_chiral,square_double_exchange]
        [--model NAME=PATH ...] [--n 8] [--L 24] [--cost-L 48] [--json OUT.json]

For each potential (its reference Hamiltonian is read from the model file's metadata):
  1. accuracy: --n held-out configurations on an L x L lattice (make_configs.py kinds
     random, domains, texture, noisy; seeds that no training set used), evaluated by
     sd/tb ED (the reference), by the model(s) and by every KPM setting; transverse-field
     RMSE and R^2 against ED over all components of all configurations;
  2. cost: fix llg (sib, two field evaluations per step) on a --cost-L lattice of random
     spins, one rank, one thread: microseconds per spin and field evaluation (loop time of
     the timed run / (2 steps N)), after a one-step warm-up;
  3. the ratio: cost of the cheapest KPM setting whose transverse RMSE is at most the
     model's / cost of the model.
This is a benchmark, not a test: it prints numbers and fails nothing.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COMMON = os.path.join(ROOT, "potentials", "common")
sys.path.insert(0, os.path.join(ROOT, "tools"))

from mlspin_train.export import load_model  # noqa: E402

# KPM grid per potential: Chebyshev moments (the electron temperature sets how many
# resolve the Fermi function: about bandwidth / kT) and probing distances
KPM_GRID = {
    "triangular_chiral": {"moments": [50, 100, 200], "probe": [2, 4, 6, 8]},
    "square_double_exchange": {"moments": [200, 400], "probe": [2, 4, 6]},
}
CONFIG_SEED = 7001  # no data set of potentials/*/regenerate.sh uses seeds 7001-7099


def lattice_of(meta):
    return meta["descriptor"]["lattice"]


def reference_hamiltonian(meta):
    """sd/tb arguments of the model's reference without its solver (metadata 'reference')."""
    text = meta["reference"]["text"]
    args = text.split()
    if args[0] != "sd/tb":
        raise SystemExit(f"model reference '{text}' is not pair_style sd/tb")
    args = args[1:]
    if "solver" in args:
        args = args[: args.index("solver")]
    return " ".join(args)


class Lammps:
    def __init__(self, lmp, work, verbose):
        self.lmp, self.work, self.verbose = lmp, work, verbose

    def run(self, script, variables):
        cmd = [self.lmp, "-in", os.path.join(HERE, script), "-log", "log.last"]
        for k, v in variables.items():
            cmd += ["-var", k, str(v)]
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        out = subprocess.run(cmd, cwd=self.work, capture_output=True, text=True, env=env)
        if out.returncode:
            sys.exit(f"LAMMPS failed ({' '.join(cmd)}):\n{out.stdout[-3000:]}{out.stderr[-2000:]}")
        return out.stdout


def read_fields(path, n_atoms):
    """[n_configs, n_atoms, 3] spin directions and fields of write_dump files."""
    spins, fields = [], []
    with open(path) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("ITEM: ATOMS"):
            block = np.loadtxt(lines[i + 1 : i + 1 + n_atoms])
            spins.append(block[:, 1:4])
            fields.append(block[:, 4:7])
            i += 1 + n_atoms
        else:
            i += 1
    return np.array(spins), np.array(fields)


def transverse(field, spin):
    return field - np.sum(field * spin, axis=-1, keepdims=True) * spin


def accuracy(field, ref, spin):
    err = transverse(field, spin) - transverse(ref, spin)
    r = transverse(ref, spin)
    return {"rmse": float(np.sqrt(np.mean(err**2))), "r2": float(1 - np.sum(err**2) / np.sum((r - r.mean()) ** 2))}


def cost_us(stdout):
    """Microseconds per spin and field evaluation of the timed run: CPU time (loop time x
    LAMMPS' 'CPU use'), which a machine shared with other jobs inflates less than the
    wall time, and the wall time."""
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", stdout)
    t, _, steps, atoms = loops[-1]
    use = re.findall(r"([0-9.]+)% CPU use", stdout)
    wall = 1e6 * float(t) / (2 * int(steps) * int(atoms))
    return wall * float(use[-1]) / 100.0 if use else wall, wall


def bench_potential(name, model_paths, args, lmp, work):
    meta = load_model(model_paths[0][1])[1]
    lattice = lattice_of(meta)
    ham = reference_hamiltonian(meta)
    py = sys.executable
    acc_data, cost_data = f"{name}_acc.data", f"{name}_cost.data"
    subprocess.run([py, os.path.join(COMMON, "make_configs.py"), "lattice", "--lattice", lattice, "--L", str(args.L),
                    "--out", acc_data], cwd=work, check=True, capture_output=True)
    subprocess.run([py, os.path.join(COMMON, "make_configs.py"), "lattice", "--lattice", lattice, "--L",
                    str(args.cost_L), "--state", "random", "--seed", "5", "--out", cost_data], cwd=work, check=True,
                   capture_output=True)
    cfg = f"{name}_cfg"
    subprocess.run([py, os.path.join(COMMON, "make_configs.py"), "configs", "--lattice", lattice, "--L", str(args.L),
                    "--n", str(args.n), "--seed", str(CONFIG_SEED), "--out", cfg], cwd=work, check=True,
                   capture_output=True)
    n_atoms = args.L * args.L

    def fields(label, pair, coeff):
        t0 = time.time()
        lmp.run("in.configs", {"data": acc_data, "cfg": cfg, "n": args.n, "name": label, "pair": pair, "coeff": coeff})
        print(f"  {label}: fields of {args.n} configurations ({time.time() - t0:.0f} s)", flush=True)
        return read_fields(os.path.join(work, label + ".dump"), n_atoms)

    def cost(pair, coeff, data=cost_data, steps=2):
        return cost_us(lmp.run("in.cost", {"data": data, "pair": pair, "coeff": coeff, "steps": steps}))

    print(f"{name}: {lattice}, reference sd/tb {ham}; accuracy on {args.n} configurations "
          f"{args.L}x{args.L}, cost on {args.cost_L}x{args.cost_L}", flush=True)
    spin, ref = fields(f"{name}_ed", f"sd/tb {ham} solver ed", "* *")
    us, wall = cost(f"sd/tb {ham} solver ed", "* *", data=acc_data, steps=1)
    rows = [{"method": f"ED ({args.L}x{args.L})", "rmse": 0.0, "r2": 1.0, "us": us, "wall": wall}]
    models = []
    for label, path in model_paths:
        coeff = f"* * {os.path.abspath(path)} {' '.join(load_model(path)[1]['species'][:1])}"
        pair = f"mlspin forces no {args.pair_extra}".strip()
        _, fm = fields(f"{name}_{label}", pair, coeff)
        us, wall = cost(pair, coeff, steps=args.model_steps)
        row = dict(method=f"model {label}", **accuracy(fm, ref, spin), us=us, wall=wall)
        rows.append(row)
        models.append(row)
    grid = KPM_GRID.get(name, KPM_GRID["triangular_chiral"])
    moments = args.moments or grid["moments"]
    settings = [f"moments {m} probe {d}" for m in moments for d in (args.probe or grid["probe"])]
    settings += [f"moments {moments[-1]} vectors 8"]
    for s in settings:
        pair = f"sd/tb {ham} solver kpm {s}"
        _, fm = fields(f"{name}_kpm_{s.replace(' ', '_')}", pair, "* *")
        us, wall = cost(pair, "* *", steps=1)
        rows.append(dict(method=f"KPM {s}", **accuracy(fm, ref, spin), us=us, wall=wall))
        print(f"    {rows[-1]['method']}: RMSE {rows[-1]['rmse']:.3g}, {rows[-1]['us']:.0f} us", flush=True)
    ratios = {}
    for m in models:
        ok = [r for r in rows if r["method"].startswith("KPM") and r["rmse"] <= m["rmse"]]
        cheapest = min(ok, key=lambda r: r["us"]) if ok else None
        ratios[m["method"]] = {"kpm": cheapest["method"] if cheapest else None,
                               "ratio": cheapest["us"] / m["us"] if cheapest else None}
    return {"lattice": lattice, "reference": ham, "L": args.L, "cost_L": args.cost_L, "n_configs": args.n,
            "rows": rows, "ratios": ratios}


def print_table(name, result):
    print(f"\n### {name} (reference sd/tb {result['reference']})\n")
    print("| method | transverse RMSE | transverse R^2 | us CPU per spin-eval | us wall |")
    print("|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['method']} | {r['rmse']:.3g} | {r['r2']:.5f} | {r['us']:.1f} | {r['wall']:.1f} |")
    for model, q in result["ratios"].items():
        if q["kpm"]:
            print(f"\n{model}: cheapest KPM at least as accurate: {q['kpm']}, {q['ratio']:.0f}x the model's cost")
        else:
            print(f"\n{model}: no KPM setting of the grid is as accurate (extend --moments/--probe)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--potentials", default="triangular_chiral,square_double_exchange")
    ap.add_argument("--model", action="append", default=[],
                    help="POTENTIAL:LABEL=PATH: evaluate this file too (default: the shipped model.pt, label 'shipped')")
    ap.add_argument("--n", type=int, default=8, help="held-out configurations (accuracy)")
    ap.add_argument("--L", type=int, default=24, help="lattice of the accuracy comparison")
    ap.add_argument("--cost-L", type=int, default=48, help="lattice of the cost measurement")
    ap.add_argument("--model-steps", type=int, default=10, help="timed LLG steps of the model")
    ap.add_argument("--moments", type=lambda s: [int(x) for x in s.split(",")], help="KPM moments (default per potential)")
    ap.add_argument("--probe", type=lambda s: [int(x) for x in s.split(",")], help="KPM probing distances")
    ap.add_argument("--pair-extra", default="", help="more pair_style mlspin keywords, e.g. 'native no'")
    ap.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--keep", help="keep the work folder here")
    args = ap.parse_args()
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="ml_vs_reference_")
    os.makedirs(work, exist_ok=True)
    lmp = Lammps(args.lmp, work, False)
    results = {}
    for name in args.potentials.split(","):
        paths = [(label, path) for spec in args.model if spec.split(":", 1)[0] == name
                 for label, path in [spec.split(":", 1)[1].split("=", 1)]]
        if not any(label == "shipped" for label, _ in paths):
            paths.insert(0, ("shipped", os.path.join(ROOT, "potentials", name, "model.pt")))
        results[name] = bench_potential(name, paths, args, lmp, work)
    print(f"\nmachine: {os.uname().nodename}, {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
          "1 MPI rank, 1 thread")
    for name, result in results.items():
        print_table(name, result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
