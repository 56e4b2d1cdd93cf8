#!/usr/bin/python3
"""Cost of a shipped potential in LAMMPS: microseconds per spin and field evaluation.

    bench_cost.py MODEL --lattice triangular --L 96 [--steps 10] [--ranks 1 2] [--lmp build/lmp]
                  [--pair-args "native yes" "native no"] [--timers]

Runs in.mlspin_cost (fix llg, sib: two field evaluations per step, pair_style mlspin
forces no) on an L x L lattice of random spins after a 2-step warm-up, and prints
loop time / (2 steps L^2) for each rank count (times the rank count: CPU time per spin).
--pair-args: one run per entry, each with these extra pair_style mlspin keywords (to
compare settings in one invocation, e.g. the native and the TorchScript path);
--timers: also print pair_style mlspin's timer table of each run.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--lattice", required=True, choices=["square", "triangular"])
    ap.add_argument("--L", type=int, default=96)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--lmp", default=os.path.join(ROOT, "build", "lmp"))
    ap.add_argument("--pair-args", nargs="+", default=[""], help="extra pair_style mlspin keywords, one run each")
    ap.add_argument("--timers", action="store_true", help="print pair_style mlspin's timers of each run")
    args = ap.parse_args()
    model = os.path.abspath(args.model)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "lattice.data")
        subprocess.run([sys.executable, os.path.join(HERE, "make_configs.py"), "lattice", "--lattice", args.lattice,
                        "--L", str(args.L), "--out", data], check=True)
        for ranks, pair_args in ((r, p) for r in args.ranks for p in args.pair_args):
            keywords = (pair_args + " timers " + ("yes" if args.timers else "no")).strip()
            cmd = [args.lmp, "-in", os.path.join(HERE, "in.mlspin_cost"), "-var", "model", model, "-var", "data", data,
                   "-var", "steps", str(args.steps), "-var", "pair_args", keywords, "-log", "none"]
            if ranks > 1:
                cmd = ["mpirun", "--allow-run-as-root", "-np", str(ranks)] + cmd
            out = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stdout[-2000:] + out.stderr[-2000:])
            loops = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", out.stdout)
            t, procs, steps, atoms = loops[-1]
            per = float(t) / (2 * int(steps) * int(atoms))
            label = f" [{pair_args}]" if pair_args else ""
            print(f"{os.path.basename(model)}{label}: {args.lattice} {args.L}x{args.L}, {procs} rank(s): "
                  f"{1e6 * per:.2f} us per spin and field evaluation (wall), "
                  f"{1e6 * per * int(procs):.2f} us CPU; {float(t) / int(steps):.3f} s per LLG step", flush=True)
            if args.timers:    # the table of the last run (the timed one)
                tables = out.stdout.split("pair mlspin timers:")
                print("  pair mlspin timers:" + tables[-1].split("MPI task timing")[0].rstrip(), flush=True)


if __name__ == "__main__":
    main()
