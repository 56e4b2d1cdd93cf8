#!/usr/bin/python3
"""Cost of a shipped potential in LAMMPS: microseconds per spin and field evaluation.

    bench_cost.py MODEL --lattice triangular --L 96 [--steps 10] [--ranks 1 2] [--lmp build/lmp]

Runs in.mlspin_cost (fix llg, sib: two field evaluations per step, pair_style mlspin
forces no) on an L x L lattice of random spins after a 2-step warm-up, and prints
loop time / (2 steps L^2) for each rank count (times the rank count: CPU time per spin).
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
    args = ap.parse_args()
    model = os.path.abspath(args.model)
    with tempfile.TemporaryDirectory() as work:
        data = os.path.join(work, "lattice.data")
        subprocess.run([sys.executable, os.path.join(HERE, "make_configs.py"), "lattice", "--lattice", args.lattice,
                        "--L", str(args.L), "--out", data], check=True)
        for ranks in args.ranks:
            cmd = [args.lmp, "-in", os.path.join(HERE, "in.mlspin_cost"), "-var", "model", model, "-var", "data", data,
                   "-var", "steps", str(args.steps), "-log", "none"]
            if ranks > 1:
                cmd = ["mpirun", "--allow-run-as-root", "-np", str(ranks)] + cmd
            out = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stdout[-2000:] + out.stderr[-2000:])
            loops = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", out.stdout)
            t, procs, steps, atoms = loops[-1]
            per = float(t) / (2 * int(steps) * int(atoms))
            print(f"{os.path.basename(model)}: {args.lattice} {args.L}x{args.L}, {procs} rank(s): "
                  f"{1e6 * per:.2f} us per spin and field evaluation (wall), "
                  f"{1e6 * per * int(procs):.2f} us CPU; {float(t) / int(steps):.3f} s per LLG step", flush=True)


if __name__ == "__main__":
    main()
