#!/usr/bin/env python3
"""Energies per site of the candidate ordered states of the triangular-lattice s-d model
with pair_style sd/tb: ferromagnet, 120 degree (three sublattices), collinear stripe and
the chiral tetrahedral state (four sublattices). This is how the parameters of the
quench example were chosen (see doc/pair_sd_tb.rst).

    python3 ground_states.py [--lmp ../../build/lmp] [--L 24] [--J 3.0] [--filling 0.25] [--kT 0]

The lattice is the rhombic L x L torus (L even and a multiple of 3 for all four states).
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def states(L):
    q = 1 / math.sqrt(3)
    corners = [(q, q, q), (q, -q, -q), (-q, q, -q), (-q, -q, q)]
    out = {"ferro": [], "120deg": [], "stripe": [], "tetrahedral": []}
    for b in range(L):
        for a in range(L):
            phi = 2 * math.pi * ((a - b) % 3) / 3
            out["ferro"].append((0, 0, 1))
            out["120deg"].append((math.cos(phi), math.sin(phi), 0))
            out["stripe"].append((0, 0, 1 if a % 2 == 0 else -1))
            out["tetrahedral"].append(corners[2 * (a % 2) + b % 2])
    return out


def write_data(path, L, spins):
    h = math.sqrt(3) / 2
    with open(path, "w") as f:
        f.write("triangular %dx%d\n\n%d atoms\n1 atom types\n\n" % (L, L, L * L))
        f.write("0 %d xlo xhi\n0 %.17g ylo yhi\n-0.5 0.5 zlo zhi\n%.17g 0 0 xy xz yz\n\n" % (L, L * h, 0.5 * L))
        f.write("Masses\n\n1 1.0\n\nAtoms # spin/lattice\n\n")
        k = 0
        for b in range(L):
            for a in range(L):
                s = spins[k]
                k += 1
                f.write("%d 1 %.17g %.17g 0 %.17g %.17g %.17g 1\n" % (k, a + 0.5 * b + 0.1, h * b + 0.05, *s))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lmp", default=os.path.join(HERE, "..", "..", "build", "lmp"))
    ap.add_argument("--L", type=int, default=24)
    ap.add_argument("--J", type=float, default=3.0)
    ap.add_argument("--filling", type=float, default=0.25)
    ap.add_argument("--kT", type=float, default=0.0)
    args = ap.parse_args()
    if args.L % 6:
        sys.exit("L must be a multiple of 6")
    result = {}
    with tempfile.TemporaryDirectory() as work:
        for name, spins in states(args.L).items():
            data = os.path.join(work, name + ".data")
            write_data(data, args.L, spins)
            script = ("units lj\natom_style spin/lattice\nboundary p p f\nread_data %s\n"
                      "pair_style sd/tb hop 1.0 J %g filling %g kT %g\npair_coeff * *\n"
                      "thermo_style custom step pe\nthermo_modify norm yes format float %%.12f\nrun 0\n"
                      % (data, args.J, args.filling, args.kT))
            path = os.path.join(work, "in.states")
            open(path, "w").write(script)
            out = subprocess.run([os.path.abspath(args.lmp), "-in", path, "-log", "none"], cwd=work,
                                 capture_output=True, text=True)
            m = re.search(r"^\s+0\s+(-?[\d.]+)\s*$", out.stdout, re.M)
            if out.returncode or not m:
                sys.exit(out.stdout[-3000:] + out.stderr[-3000:])
            result[name] = float(m.group(1))
    print("triangular %dx%d, t = 1, J = %g, filling %g, kT = %g: energy per site" % (args.L, args.L, args.J,
                                                                                    args.filling, args.kT))
    for name, e in sorted(result.items(), key=lambda kv: kv[1]):
        print("  %-12s %.10f" % (name, e))


if __name__ == "__main__":
    main()
