#!/usr/bin/env python3
"""Throughput of fix llg with pair_style mlspin, next to SPIN's spin/exchange.

    run_benchmark.py [--build build] [--sizes 100,316] [--ranks 2] [--out results.md]
                     [--blas-dir DIR] [--only exchange,small,literature]

Frozen square lattice (units metal, a = 3 A, dimension 2) of L x L spins, fix llg with
the SIB integrator (two field evaluations per step), three field sources in the same
invocation:

  exchange     SPIN's pair_style spin/exchange, 8 neighbors (cutoff 1.5 a)
  small        pair_style mlspin, small.pt (8 neighbors, MLP 4-16-16-1)
  literature   pair_style mlspin, literature.pt (80 neighbors within 5 a, 554 invariant
               features, MLP 554-1024-512-256-128-64-1, float64), forces no

Each case runs a warm-up (TorchScript profiles and optimises its graph during the
first calls), then a timed run; spin-steps/s = spins * steps / loop time. The time
split comes from `pair_style mlspin timers yes`; the peak memory of every rank from
/usr/bin/time. Models are written by make_bench_models.py with a Python that has
torch (/usr/bin/python3 on Debian). --blas-dir puts another libblas.so.3 (e.g. an
unpacked libopenblas0-pthread) first in LD_LIBRARY_PATH, without changing the system.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
A = 3.0

INPUT = """units metal
dimension 2
atom_style spin/lattice
atom_modify map array
boundary p p p
lattice sq {a}
region box block 0 {L} 0 {L} -0.5 0.5
create_box 1 box
create_atoms 1 box
mass 1 55.845
set group all spin/atom/random 31415 1.0
neighbor 0.3 bin
neigh_modify every 1000000 check no
{pair}
fix llg all llg alpha 0.1 integrator sib
timestep 0.0001
thermo_style custom step pe
run {warmup} post no
run {steps}
"""

PAIRS = {
    "exchange": "pair_style spin/exchange 4.5\npair_coeff * * exchange 4.5 0.01 0.0 3.0",
    "small": "pair_style mlspin forces no timers yes threads {threads}\npair_coeff * * {models}/small.pt Fe",
    "literature": "pair_style mlspin forces no timers yes threads {threads}\npair_coeff * * {models}/literature.pt Fe",
}

# (warm-up steps, timed steps) per case and lattice size
STEPS = {
    "exchange": {100: (20, 400), 316: (5, 40)},
    "small": {100: (3, 40), 316: (2, 6)},
    "literature": {100: (2, 2), 316: (1, 1)},
}


def run_case(args, case, L, workdir, models):
    warmup, steps = STEPS[case].get(L, (1, 1))
    pair = PAIRS[case].format(threads=args.threads, models=models)
    infile = os.path.join(workdir, f"in.{case}.{L}")
    log = os.path.join(workdir, f"log.{case}.{L}")
    with open(infile, "w") as f:
        f.write(INPUT.format(a=A, L=L, pair=pair, warmup=warmup, steps=steps))
    env = dict(os.environ)
    if args.blas_dir:
        env["LD_LIBRARY_PATH"] = args.blas_dir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    env.setdefault("OMP_NUM_THREADS", str(args.threads))
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    lmp = os.path.join(args.build, "lmp")
    cmd = ["/usr/bin/time", "-f", "maxrss_kb %M", lmp, "-in", infile, "-log", log, "-screen", "none"]
    if args.ranks > 1:
        cmd = ["mpirun", "-np", str(args.ranks)] + cmd
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        sys.exit(f"{case} L={L} failed:\n{proc.stdout}\n{proc.stderr}\n(see {log})")
    text = open(log).read()
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps with (\d+) atoms", text)
    loop, nsteps, natoms = float(loops[-1][0]), int(loops[-1][1]), int(loops[-1][2])
    rss = [int(v) for v in re.findall(r"maxrss_kb (\d+)", proc.stderr)]
    timers = {}
    blocks = text.split("pair mlspin timers:")
    if len(blocks) > 1:
        for name in ("neighbor packing", "forward", "backward", "convert\\+check", "scatter"):
            m = re.search(r"\n\s+" + name + r"\s+([0-9.eE+-]+)\s+([0-9.eE+-]+)\s+([0-9.]+)", blocks[-1])
            if m:
                timers[name.replace("\\", "")] = (float(m.group(1)), float(m.group(3)))
        calls = re.match(r"\s*(\d+) (?:calls|evaluations)", blocks[-1])
        timers["calls"] = int(calls.group(1)) if calls else 0
    return {"case": case, "L": L, "natoms": natoms, "steps": nsteps, "loop": loop, "wall": wall,
            "rate": natoms * nsteps / loop, "rss_kb": rss, "timers": timers}


def table(results, args):
    lines = [f"ranks: {args.ranks} x {args.threads} LibTorch thread(s); "
             f"BLAS: {args.blas_dir or 'system libblas.so.3'}", "",
             "| field source | spins | steps | loop time (s) | spin-steps/s | us per spin-step | peak RSS per rank (MB) |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        rss = "/".join(f"{v / 1024:.0f}" for v in r["rss_kb"])
        lines.append(f"| {r['case']} | {r['natoms']} | {r['steps']} | {r['loop']:.3f} | {r['rate']:.4g} | "
                     f"{1e6 / r['rate']:.4g} | {rss} |")
    lines += ["", "time split of pair mlspin (timed run, average over ranks, % of the pair style's time):", "",
              "| model | spins | calls | packing | forward | backward | convert+check | scatter | s per call |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        t = r["timers"]
        if not t:
            continue
        total = sum(v[0] for k, v in t.items() if k != "calls")
        pct = [f"{t.get(k, (0, 0))[1]:.2f}%" for k in ("neighbor packing", "forward", "backward", "convert+check",
                                                      "scatter")]
        lines.append(f"| {r['case']} | {r['natoms']} | {t['calls']} | " + " | ".join(pct) +
                     f" | {total / max(t['calls'], 1):.4g} |")
    # memory per spin from the growth of the peak RSS between the two sizes
    by_case = {}
    for r in results:
        by_case.setdefault(r["case"], []).append(r)
    mem = []
    for case, rs in by_case.items():
        if len(rs) >= 2:
            lo, hi = rs[0], rs[-1]
            growth = (sum(hi["rss_kb"]) - sum(lo["rss_kb"])) * 1024 / (hi["natoms"] - lo["natoms"])
            mem.append(f"| {case} | {growth / 1024:.1f} |")
    if mem:
        lines += ["", "memory per spin (growth of the summed peak RSS between the sizes):", "",
                  "| field source | KB per spin |", "|---|---|"] + mem
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(HERE, "..", "..", "build"))
    p.add_argument("--sizes", default="100,316", help="lattice sizes L (L*L spins)")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default="exchange,small,literature")
    p.add_argument("--blas-dir", default="")
    p.add_argument("--python", default="/usr/bin/python3", help="a Python with torch, for the models")
    p.add_argument("--out", default="")
    args = p.parse_args()
    args.build = os.path.abspath(args.build)

    workdir = tempfile.mkdtemp(prefix="mlspin_bench_")
    models = os.path.join(workdir, "models")
    subprocess.run([args.python, os.path.join(HERE, "make_bench_models.py"), models, str(A)], check=True)
    results = []
    for L in [int(v) for v in args.sizes.split(",")]:
        for case in args.only.split(","):
            r = run_case(args, case, L, workdir, models)
            print(f"{case:>10} {r['natoms']:>7} spins: {r['rate']:.4g} spin-steps/s "
                  f"({r['steps']} steps in {r['loop']:.2f} s), peak RSS {r['rss_kb']} KB", flush=True)
            results.append(r)
    text = table(results, args)
    print("\n" + text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(f"inputs and logs in {workdir}")


if __name__ == "__main__":
    main()
