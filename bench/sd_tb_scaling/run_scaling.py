#!/usr/bin/env python3
"""Time one field evaluation of pair_style sd/tb (ED and KPM) against the number of
sites N and fit the scaling exponents t ~ N^p.

Each size runs LAMMPS on an L x L square lattice (t = 1, J = 6, filling 0.485,
kT = 0.01, random spins) with `run 0` (setup) followed by `run E` without any fix:
every step re-evaluates energy and fields at unchanged spins, and the "Pair" line of
LAMMPS' timing breakdown divided by E is the time of one evaluation.

    python3 run_scaling.py                      # defaults, a few minutes in all
    python3 run_scaling.py --lmp ../../build/lmp --ed 10,20,30 --kpm 32,64,128

The exponents are fitted to the sizes whose evaluation takes at least --fit-min
seconds, where fixed costs no longer dominate. Expected: about 3 for ED (dense
eigenproblem), about 1 for KPM at fixed moments and vectors. On a shared machine the
wall-clock time is inflated by other processes; the "cpu" column (wall time times the
CPU use LAMMPS reports for the run) corrects for that, and both are fitted.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

INPUT = """units lj
atom_style spin/lattice
boundary p p f
lattice sc 1.0
region box block 0 {L} 0 {L} -0.5 0.5
create_box 1 box
create_atoms 1 box
mass 1 1.0
set group all spin/atom/random 2024 1.0
pair_style sd/tb hop 1.0 J 6.0 filling 0.485 kT 0.01 {solver}
pair_coeff * *
thermo_modify norm no
run 0 post no
run {evals}
"""


def time_one(lmp, L, solver, evals, workdir, nprocs):
    path = os.path.join(workdir, "in.scaling")
    with open(path, "w") as f:
        f.write(INPUT.format(L=L, solver=solver, evals=evals))
    cmd = [lmp, "-in", path, "-log", "none", "-echo", "none"]
    if nprocs > 1:
        cmd = ["mpirun", "-np", str(nprocs)] + cmd
    start = time.time()
    out = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    wall = time.time() - start
    if out.returncode != 0:
        sys.exit("LAMMPS failed for L=%d (%s):\n%s" % (L, solver, out.stdout[-2000:] + out.stderr[-2000:]))
    pair = [float(m.group(1)) for m in re.finditer(r"^Pair\s*\|\s*\S+\s*\|\s*(\S+)", out.stdout, re.M)]
    cpu = [float(m.group(1)) for m in re.finditer(r"^([\d.]+)% CPU use", out.stdout, re.M)]
    return pair[-1] / evals, (cpu[-1] if cpu else float("nan")), wall


def fit(points, tmin):
    pts = [(math.log(n), math.log(t)) for n, t in points if t >= tmin]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pts)
    return sxy / sxx


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lmp", default=os.environ.get("MLSPIN_LMP", os.path.join(HERE, "..", "..", "build", "lmp")))
    ap.add_argument("--ed", default="10,14,20,24,30", help="lattice sizes L for ED (N = L^2)")
    ap.add_argument("--kpm", default="16,32,64,96,128", help="lattice sizes L for KPM")
    ap.add_argument("--moments", type=int, default=200)
    ap.add_argument("--vectors", type=int, default=8)
    ap.add_argument("--evals", type=int, default=2, help="evaluations timed per size")
    ap.add_argument("--np", type=int, default=1, help="MPI ranks")
    ap.add_argument("--fit-min", type=float, default=0.05, help="seconds; faster points are not fitted")
    args = ap.parse_args()
    lmp = os.path.abspath(args.lmp)
    if not os.access(lmp, os.X_OK):
        sys.exit("no LAMMPS binary at %s (build the project or pass --lmp)" % lmp)

    kpm = "solver kpm moments %d vectors %d" % (args.moments, args.vectors)
    results = {"ED": [], "KPM": [], "ED cpu": [], "KPM cpu": []}
    with tempfile.TemporaryDirectory() as work:
        print("pair_style sd/tb, square lattice, one field evaluation, %d rank(s)" % args.np)
        print("%-4s %6s %8s %14s %8s %14s" % ("", "L", "N", "s/evaluation", "CPU %", "cpu s/eval"))
        for name, sizes, solver in (("ED", args.ed, "solver ed"), ("KPM", args.kpm, kpm)):
            for L in [int(v) for v in sizes.split(",") if v]:
                t, cpu, _ = time_one(lmp, L, solver, args.evals, work, args.np)
                results[name].append((L * L, t))
                results[name + " cpu"].append((L * L, t * cpu / 100.0))
                print("%-4s %6d %8d %14.4g %8.1f %14.4g" % (name, L, L * L, t, cpu, t * cpu / 100.0), flush=True)
    print()
    print("fitted exponents p in t ~ N^p (points with t >= %g s):" % args.fit_min)
    print("  ED : %.2f (wall)  %.2f (cpu)" % (fit(results["ED"], args.fit_min), fit(results["ED cpu"], args.fit_min)))
    print("  KPM: %.2f (wall)  %.2f (cpu)   M = %d moments, R = %d vectors" %
          (fit(results["KPM"], args.fit_min), fit(results["KPM cpu"], args.fit_min), args.moments, args.vectors))


if __name__ == "__main__":
    main()
