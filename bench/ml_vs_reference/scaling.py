#!/usr/bin/python3
"""Parallel efficiency, size scaling and memory of a model in LLG dynamics (issue 18 targets:
efficiency >= 0.9 on 2 ranks, cost per spin flat within 10 % from 10^3 to 10^6 spins,
<= 2 kB per spin).

    bench/ml_vs_reference/scaling.py [--model potentials/triangular_chiral/model.pt]
        [--lattice triangular] [--sizes 32,100,316,1000] [--ranks 1,2] [--steps 2]

For every size L (L x L spins) and rank count: microseconds per spin and field evaluation
(wall: loop time / (2 steps N); CPU: times the ranks), the parallel efficiency
t(1 rank) / (ranks x t(ranks)), and the peak resident memory of each rank from
/usr/bin/time (GNU time, package 'time'), also per spin. A benchmark: prints, fails nothing.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(lmp, ranks, variables, work):
    cmd = []
    if ranks > 1:
        cmd = ["mpirun", "--allow-run-as-root", "-np", str(ranks)]
    cmd += ["/usr/bin/time", "-f", "maxrss_kb %M", lmp, "-in", os.path.join(HERE, "in.scaling"), "-log", "none"]
    for k, v in variables.items():
        cmd += ["-var", k, str(v)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    loops = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", out.stdout)
    t, _, steps, atoms = loops[-1]
    rss = [int(x) for x in re.findall(r"maxrss_kb (\d+)", out.stderr)]
    return float(t) / (2 * int(steps) * int(atoms)), int(atoms), rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "potentials", "triangular_chiral", "model.pt"))
    ap.add_argument("--lattice", default="triangular", choices=["triangular", "square"])
    ap.add_argument("--sizes", default="32,100,316,1000")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--pair", default="mlspin forces no")
    ap.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
    args = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs GNU time (/usr/bin/time): apt-get install time")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for L in [int(x) for x in args.sizes.split(",")]:
            base = None
            for ranks in [int(x) for x in args.ranks.split(",")]:
                per, atoms, rss = run(args.lmp, ranks, {"lattice": args.lattice, "L": L, "model": os.path.abspath(args.model),
                                                        "steps": args.steps, "pair": args.pair}, work)
                base = per if ranks == 1 else base
                eff = base / (ranks * per) if base else float("nan")
                rows.append((atoms, ranks, 1e6 * per, 1e6 * per * ranks, eff, max(rss) / 1024, 1024 * sum(rss) / atoms))
                print(f"{atoms} spins, {ranks} rank(s): {1e6 * per:.2f} us/spin-eval wall, efficiency {eff:.2f}, "
                      f"peak RSS per rank {max(rss) / 1024:.0f} MB ({1024 * sum(rss) / atoms:.0f} B per spin, all ranks)",
                      flush=True)
    print(f"\nmodel {args.model}, pair_style {args.pair}\n")
    print("| spins | ranks | us per spin-eval (wall) | us CPU | parallel efficiency | peak RSS per rank (MB) | bytes per spin (all ranks) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]:,} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.0f} | {r[6]:.0f} |")
    # memory that grows with the system: the slope of the total RSS between the two
    # largest sizes (the fixed part is LibTorch, MPI and the model: ~0.2-0.3 GB per rank)
    for ranks in sorted({r[1] for r in rows}):
        mine = sorted((r for r in rows if r[1] == ranks), key=lambda r: r[0])
        if len(mine) >= 2:
            (n0, b0), (n1, b1) = [(r[0], r[6] * r[0]) for r in mine[-2:]]
            print(f"\n{ranks} rank(s): memory growing with the system {(b1 - b0) / (n1 - n0):.0f} bytes per spin "
                  f"(between {n0:,} and {n1:,} spins)")


if __name__ == "__main__":
    main()
