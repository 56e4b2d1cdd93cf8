#!/usr/bin/python3
"""Benchmark: mlspin's fix llg against LAMMPS' fix nve/spin + fix langevin/spin.

The same frozen-lattice Heisenberg system (in.heisenberg: bcc, SPIN's pair_style
spin/exchange, random initial spins, T = 0) is integrated by

  llg      fix llg alpha A form ll integrator sib       (mlspin)
  nvespin  fix nve/spin lattice frozen + fix langevin/spin 0.0 A seed   (LAMMPS SPIN)

at the same time step.  Both integrate the same equation (see README.md):
  ds/dt = -[ s x w + A s x (s x w) ],   w = fm = -(1/hbar) dE/ds.

Printed:
  * speed: spin-steps per second of each, from LAMMPS' own "Loop time of X on N procs
    for M steps with K atoms" line (K*M/X), median over --repeats interleaved runs,
    and the ratio llg / nvespin; also per CPU-second and the Pair/Modify/Comm split;
  * accuracy: the energy error dE = max_t |E_dt(t) - E_ref(t)| over the sampled times of
    a run of length --time, and the spin error ds = RMS_i |s_i - s_ref,i| at its end,
    against a reference run at dt/--ref-div (each integrator's own reference, and the
    fix llg and nve/spin references), at dt times each --dt-factors, for the damped case
    and for alpha = 0 (nve/spin alone), plus the drift max_t |E(t) - E(0)| at alpha = 0.

Usage:  bench/llg_vs_nvespin/run_bench.py [--lmp build/lmp] [--np 2] [--nx 100 --ny 100]
        (LMP=/path/to/lmp also works; --help lists every option)
"""

import argparse
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INPUT = os.path.join(HERE, "in.heisenberg")

LOOP_RE = re.compile(r"^Loop time of (\S+) on (\d+) procs for (\d+) steps with (\d+) atoms")
CPU_RE = re.compile(r"^(\S+)% CPU use with (\d+) MPI tasks")
SECTION_RE = re.compile(r"^(Pair|Neigh|Comm|Output|Modify)\s*\|\s*\S+\s*\|\s*(\S+)\s*\|")
WARN_NO_NVE = "Using spin pair style without nve/spin"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lmp", default=os.environ.get("LMP", os.path.join(REPO, "build", "lmp")),
                   help="LAMMPS executable with the mlspin plugin (env LMP; default: <repo>/build/lmp)")
    p.add_argument("--np", type=int, default=1, help="MPI ranks (default 1: no mpirun)")
    p.add_argument("--mpirun", default=os.environ.get("MPIRUN", "mpirun --allow-run-as-root"),
                   help="MPI launcher used when --np > 1 (env MPIRUN)")
    p.add_argument("--nx", type=int, default=50, help="bcc conventional cells along x (2 spins each)")
    p.add_argument("--ny", type=int, default=50, help="cells along y")
    p.add_argument("--nz", type=int, default=2,
                   help="cells along z (default 2; nve/spin on >1 rank needs nz >= 2, see README)")
    p.add_argument("--alpha", type=float, default=0.1, help="damping of the damped case (default 0.1)")
    p.add_argument("--dt", type=float, default=1e-4, help="time step in ps (default 1e-4 = 0.1 fs)")
    p.add_argument("--dt-factors", default="0.5,1,2",
                   help="accuracy runs use dt times each factor (default 0.5,1,2: gives the order, and the "
                        "error at dt/2, which costs fix llg about what nve/spin costs at dt)")
    p.add_argument("--ref-div", type=int, default=16, help="reference time step dt/REF_DIV (default 16)")
    p.add_argument("--time", type=float, default=0.02, help="length of the accuracy runs in ps (default 0.02)")
    p.add_argument("--samples", type=int, default=20, help="energy samples per accuracy run (default 20)")
    p.add_argument("--steps", type=int, default=1000, help="steps of each timing run (default 1000)")
    p.add_argument("--repeats", type=int, default=3, help="interleaved timing runs per integrator (default 3)")
    p.add_argument("--integrators", default="sib",
                   help="fix llg integrators to include, comma separated (sib,depondt,heun; default sib)")
    p.add_argument("--skip-timing", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--workdir", default=None, help="where logs and results.json go (default: a new temp dir)")
    return p.parse_args()


class Runner:
    def __init__(self, args):
        self.args = args
        self.lmp = args.lmp
        self.workdir = args.workdir or tempfile.mkdtemp(prefix="llg_vs_nvespin.")
        os.makedirs(self.workdir, exist_ok=True)
        self.counter = 0
        self.warnings_seen = set()

    def run(self, tag, method, integrator="sib", alpha=0.0, dt=1e-4, steps=100, thermo=0, spins=False):
        a = self.args
        self.counter += 1
        log = os.path.join(self.workdir, f"{self.counter:03d}_{tag}.log")
        spins_file = f"spins_{self.counter:03d}" if spins else "none"    # no dot: LAMMPS 'if' string
        cmd = [] if a.np <= 1 else shlex.split(a.mpirun) + ["-np", str(a.np)]
        cmd += [self.lmp, "-in", INPUT, "-log", log, "-screen", "none"]
        for k, v in (("method", method), ("integrator", integrator if integrator != "-" else "sib"), ("alpha", repr(alpha)),
                     ("dt", repr(dt)), ("steps", steps), ("thermo", thermo),
                     ("nx", a.nx), ("ny", a.ny), ("nz", a.nz), ("spins", spins_file)):
            cmd += ["-var", k, str(v)]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        wall = time.time() - t0
        text = open(log).read() if os.path.exists(log) else ""
        if proc.returncode != 0 or "Loop time of" not in text:
            sys.stderr.write(f"\nLAMMPS failed ({' '.join(cmd)}), rc={proc.returncode}\n")
            sys.stderr.write("--- output tail ---\n" + proc.stdout[-3000:] + "\n--- log tail ---\n"
                             + text[-3000:] + "\n")
            sys.exit(1)
        res = parse_log(text)
        res.update(tag=tag, method=method, integrator=integrator, alpha=alpha, dt=dt, log=log, wall=wall)
        if spins:
            res["spins"] = read_spins(os.path.join(self.workdir, spins_file))
        if WARN_NO_NVE in text:
            self.warnings_seen.add(method)
        print(f"    {tag:34s} {steps:6d} steps  loop {res['loop']:8.3f} s  "
              f"{res['spin_steps_per_s'] / 1e6:7.3f} M spin-steps/s  (CPU use {res['cpu']}%)", flush=True)
        return res


def parse_log(text):
    lines = text.splitlines()
    thermo = []
    res = {}
    in_table = False
    for line in lines:
        m = LOOP_RE.match(line)
        if m:
            loop, nprocs, nsteps, natoms = float(m[1]), int(m[2]), int(m[3]), int(m[4])
            res.update(loop=loop, nprocs=nprocs, steps=nsteps, atoms=natoms,
                       spin_steps_per_s=natoms * nsteps / loop)
            in_table = False
            continue
        m = CPU_RE.match(line)
        if m:
            res["cpu"] = m[1]
            continue
        m = SECTION_RE.match(line)
        if m:
            res.setdefault("sections", {})[m[1]] = float(m[2])
            continue
        if line.split()[:3] == ["Step", "Time", "PotEng"]:
            in_table = True
            continue
        if in_table:
            parts = line.split()
            if len(parts) == 3:
                try:
                    thermo.append((int(parts[0]), float(parts[1]), float(parts[2])))
                except ValueError:
                    pass
    res["thermo"] = thermo
    return res


def read_spins(path):
    """final spin directions from write_dump (sorted by id) as an (N, 3) array"""
    with open(path) as fh:
        lines = fh.readlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS")) + 1
    data = np.array([[float(x) for x in l.split()] for l in lines[start:] if l.strip()])
    return data[np.argsort(data[:, 0]), 1:4]


def spin_error(a, b):
    """RMS and max over spins of |s_i(T) - s_ref,i(T)| at the end of the run"""
    d = np.linalg.norm(a["spins"] - b["spins"], axis=1)
    return float(np.sqrt(np.mean(d * d))), float(d.max())


def energy_series(res):
    """{time in units of 1e-9 ps (exact integer key): energy}"""
    return {round(t * 1e9): e for _, t, e in res["thermo"]}


def max_diff(a, b):
    """max over common sampled times t > 0 of |a(t) - b(t)|"""
    ea, eb = energy_series(a), energy_series(b)
    keys = sorted(k for k in ea if k in eb and k > 0)
    if not keys:
        raise RuntimeError(f"no common sample times between {a['tag']} and {b['tag']}")
    return max(abs(ea[k] - eb[k]) for k in keys), len(keys)


def drift(a):
    e = [x[2] for x in a["thermo"]]
    return max(abs(x - e[0]) for x in e)


def fmt(x):
    return f"{x:.3e}"


def timing(r, args, cases):
    print(f"\n== Timing: {args.steps} steps at dt = {args.dt} ps, alpha = {args.alpha}, "
          f"{args.repeats} interleaved repeats, {args.np} MPI rank(s)", flush=True)
    runs = {c: [] for c in cases}
    for rep in range(args.repeats):
        for c in cases:
            method, integ = c
            tag = f"time_{method}_{integ}_r{rep}" if method != "nvespin" else f"time_nvespin_r{rep}"
            runs[c].append(r.run(tag, method, integ, args.alpha, args.dt, args.steps, thermo=0))
    out = {}
    for c, lst in runs.items():
        rates = [x["spin_steps_per_s"] for x in lst]
        # the same per CPU-second (loop time x CPU use x ranks): less sensitive to other load on the machine
        cpu_rates = [x["spin_steps_per_s"] / (float(x["cpu"]) / 100.0 * x["nprocs"]) for x in lst]
        sections = {k: statistics.median(x["sections"].get(k, 0.0) / x["steps"] * 1e3 for x in lst)
                    for k in ("Pair", "Comm", "Modify")}
        out[name(c, args.alpha)] = dict(median=statistics.median(rates), min=min(rates), max=max(rates),
                                        cpu_median=statistics.median(cpu_rates), ms_per_step=sections,
                            atoms=lst[0]["atoms"], nprocs=lst[0]["nprocs"], steps=lst[0]["steps"],
                            loop_times=[x["loop"] for x in lst], cpu=[x.get("cpu") for x in lst])
    return out


def name(c, alpha):
    if c[0] == "nvespin":
        return "nve/spin+langevin/spin" if alpha > 0 else "nve/spin"
    return f"fix llg {c[1]}"


def accuracy(r, args, cases, alpha):
    factors = sorted(float(f) for f in args.dt_factors.split(","))
    steps_ref = round(args.time / args.dt * args.ref_div)
    dt_ref = args.dt / args.ref_div
    print(f"\n== Accuracy, alpha = {alpha}: {args.time} ps, {args.samples} samples, "
          f"reference dt/{args.ref_div} = {dt_ref:g} ps", flush=True)
    sample_steps_ref = steps_ref // args.samples
    def whole(x):
        return abs(x - round(x)) < 1e-9 and round(x) > 0

    if sample_steps_ref * args.samples != steps_ref or not all(
            whole(sample_steps_ref / (args.ref_div * f)) for f in factors):
        raise SystemExit("--time/--dt/--samples/--dt-factors/--ref-div do not give whole steps between samples")
    res = {}
    for c in cases:
        method, integ = c
        lbl = method if method == "nvespin" else f"llg_{integ}"
        ref = r.run(f"acc_a{alpha}_{lbl}_ref", method, integ, alpha, dt_ref, steps_ref,
                    thermo=sample_steps_ref, spins=True)
        runs = {}
        for f in factors:
            dt = args.dt * f
            n = round(steps_ref / (args.ref_div * f))
            runs[f] = r.run(f"acc_a{alpha}_{lbl}_dtx{f:g}", method, integ, alpha, dt, n,
                            thermo=round(sample_steps_ref / (args.ref_div * f)), spins=True)
        res[c] = dict(ref=ref, runs=runs)
    extra = None
    if alpha > 0:
        # the other LLG form at the same alpha: shows that the form matters (mapping check)
        extra = r.run(f"acc_a{alpha}_llg_gilbert_dtx1", "llg_gilbert", "sib", alpha, args.dt,
                      steps_ref // args.ref_div, thermo=sample_steps_ref // args.ref_div, spins=True)

    nve_ref = res[("nvespin", "-")]["ref"]
    llg_ref = res[cases[0]]["ref"]
    out = dict(alpha=alpha, dt_ref=dt_ref, dts_ref_div=args.ref_div, time=args.time, natoms=nve_ref["atoms"],
               cases={})
    natoms = nve_ref["atoms"]
    cross, nsamp = max_diff(nve_ref, llg_ref)
    out["ref_vs_ref"] = cross
    out["ref_vs_ref_spins"] = spin_error(nve_ref, llg_ref)
    out["llg_ref_name"] = cases[0][1]
    for c in cases:
        d = res[c]
        entry = dict(ref_integrator=name(c, alpha), dts={})
        for f, run in d["runs"].items():
            e_own, _ = max_diff(run, d["ref"])
            e_nve, _ = max_diff(run, nve_ref)
            e_llg, _ = max_diff(run, llg_ref)
            entry["dts"][f] = dict(dt=args.dt * f, err_own_ref=e_own, err_nve_ref=e_nve, err_llg_ref=e_llg,
                                   drift=drift(run), e_final=run["thermo"][-1][2],
                                   spin_err_own_ref=spin_error(run, d["ref"]),
                                   spin_err_llg_ref=spin_error(run, llg_ref),
                                   spin_err_nve_ref=spin_error(run, nve_ref),
                                   loop=run["loop"], spin_steps_per_s=run["spin_steps_per_s"])
        entry["ref_drift"] = drift(d["ref"])
        fs = sorted(d["runs"])
        if len(fs) >= 2:
            e1, e2 = entry["dts"][fs[-2]]["err_own_ref"], entry["dts"][fs[-1]]["err_own_ref"]
            entry["order"] = math.log(e2 / e1) / math.log(fs[-1] / fs[-2]) if e1 > 0 and e2 > 0 else None
            e1, e2 = entry["dts"][fs[-2]]["spin_err_own_ref"][0], entry["dts"][fs[-1]]["spin_err_own_ref"][0]
            entry["spin_order"] = math.log(e2 / e1) / math.log(fs[-1] / fs[-2]) if e1 > 0 and e2 > 0 else None
        out["cases"][name(c, alpha)] = entry
    if extra is not None:
        out["gilbert_form_vs_nve_ref"] = max_diff(extra, nve_ref)[0]
        out["gilbert_form_vs_llg_ref"] = max_diff(extra, llg_ref)[0]
        out["gilbert_form_vs_nve_ref_spins"] = spin_error(extra, nve_ref)
    out["e0"] = nve_ref["thermo"][0][2]
    out["e_final_ref"] = nve_ref["thermo"][-1][2]
    out["samples"] = nsamp
    return out


def print_accuracy(acc, natoms):
    a = acc["alpha"]
    print(f"\n  alpha = {a}, {acc['time']} ps from E(0) = {acc['e0']:.6f} eV to E_ref = {acc['e_final_ref']:.6f} eV "
          f"({natoms} spins).\n"
          f"  dE = max over {acc['samples']} sampled t in (0, {acc['time']}] ps of |E_dt(t) - E_ref(t)| [eV]; "
          f"ds = RMS over spins of |s_i - s_ref,i| at t = {acc['time']} ps;\n"
          f"  own ref: the same integrator at dt/{round(acc['dts_ref_div'])}, llg/nve ref: fix llg "
          f"{acc['llg_ref_name']} / nve/spin at dt/{round(acc['dts_ref_div'])}; p: observed order (own ref) "
          f"from the previous row")
    hdr = (f"  {'integrator':24s} {'dt/ps':>8s} {'dE own ref':>11s} {'dE llg ref':>11s} {'dE nve ref':>11s} "
           f"{'p(dE)':>6s} {'ds own ref':>11s} {'ds llg ref':>11s} {'ds nve ref':>11s} {'p(ds)':>6s}")
    if a == 0:
        hdr += f" {'drift':>10s}"
    print(hdr)
    for nm, entry in acc["cases"].items():
        prev = None
        for f, d in sorted(entry["dts"].items()):
            p_e = p_s = ""
            if prev is not None:
                fp, dp = prev
                r = math.log(f / fp)
                if dp["err_own_ref"] > 0 and d["err_own_ref"] > 0:
                    p_e = f"{math.log(d['err_own_ref'] / dp['err_own_ref']) / r:.2f}"
                if dp["spin_err_own_ref"][0] > 0 and d["spin_err_own_ref"][0] > 0:
                    p_s = f"{math.log(d['spin_err_own_ref'][0] / dp['spin_err_own_ref'][0]) / r:.2f}"
            line = (f"  {nm:24s} {d['dt']:8.3g} {fmt(d['err_own_ref']):>11s} {fmt(d['err_llg_ref']):>11s} "
                    f"{fmt(d['err_nve_ref']):>11s} {p_e:>6s} {fmt(d['spin_err_own_ref'][0]):>11s} "
                    f"{fmt(d['spin_err_llg_ref'][0]):>11s} {fmt(d['spin_err_nve_ref'][0]):>11s} {p_s:>6s}")
            if a == 0:
                line += f" {d['drift']:10.2e}"
            print(line)
            prev = (f, d)
        if a == 0:
            print(f"  {'':24s} energy drift max_t |E(t) - E(0)| of its reference run: {fmt(entry['ref_drift'])} eV")
    print(f"  the two references differ by dE = {fmt(acc['ref_vs_ref'])} eV, "
          f"ds = {fmt(acc['ref_vs_ref_spins'][0])} (same equation: fix llg form ll = nve/spin + langevin/spin)")
    if "gilbert_form_vs_nve_ref" in acc:
        print(f"  fix llg form gilbert (not the same equation at this alpha) at dt: dE = "
              f"{fmt(acc['gilbert_form_vs_nve_ref'])} eV, ds = {fmt(acc['gilbert_form_vs_nve_ref_spins'][0])} "
              f"from the nve/spin reference")


def main():
    args = parse_args()
    # the runs happen in the work directory: make a relative path absolute, look a bare name up in PATH
    args.lmp = os.path.abspath(args.lmp) if os.sep in args.lmp else (shutil.which(args.lmp) or args.lmp)
    if not os.access(args.lmp, os.X_OK):
        raise SystemExit(f"LAMMPS executable {args.lmp} not found: build first (see README.md) or pass "
                         f"--lmp / LMP=")
    r = Runner(args)
    integs = [x for x in args.integrators.split(",") if x]
    cases = [("llg", i) for i in integs] + [("nvespin", "-")]
    print(f"llg vs nve/spin benchmark: lmp = {args.lmp}, {args.np} MPI rank(s), "
          f"bcc {args.nx}x{args.ny}x{args.nz} cells = {2 * args.nx * args.ny * args.nz} spins; "
          f"logs in {r.workdir}", flush=True)
    results = dict(args=vars(args), host_cpus=os.cpu_count())
    t_start = time.time()
    if not args.skip_timing:
        results["timing"] = timing(r, args, cases)
    if not args.skip_accuracy:
        results["accuracy"] = [accuracy(r, args, cases, args.alpha)]
        if args.alpha != 0:
            results["accuracy"].append(accuracy(r, args, cases, 0.0))

    print("\n================ Results ================")
    print(f"system: bcc {args.nx}x{args.ny}x{args.nz} cells, {2 * args.nx * args.ny * args.nz} spins, "
          f"spin/exchange nearest neighbours, frozen lattice, T = 0; {args.np} MPI rank(s) on a "
          f"{os.cpu_count()}-CPU machine")
    if "timing" in results:
        t = results["timing"]
        nve = t[name(("nvespin", "-"), args.alpha)]["median"]
        print(f"\nspeed at dt = {args.dt} ps, alpha = {args.alpha} (median [min, max] of {args.repeats} "
              f"runs of {args.steps} steps; spin-steps/s = atoms*steps/loop time):")
        nve_cpu = t[name(("nvespin", "-"), args.alpha)]["cpu_median"]
        for nm, d in t.items():
            ratio = d["median"] / nve
            print(f"  {nm:24s} {d['median'] / 1e6:8.3f} M spin-steps/s  [{d['min'] / 1e6:.3f}, "
                  f"{d['max'] / 1e6:.3f}]  ratio to nve/spin {ratio:.2f}")
        print("  per CPU-second (spin-steps / (loop time x CPU use x ranks); other load on the machine "
              "lowers CPU use):")
        for nm, d in t.items():
            ms = d["ms_per_step"]
            print(f"  {nm:24s} {d['cpu_median'] / 1e6:8.3f} M spin-steps/CPU-s  ratio {d['cpu_median'] / nve_cpu:.2f};"
                  f"  wall ms/step: Pair {ms['Pair']:.2f}, Modify {ms['Modify']:.2f}, Comm {ms['Comm']:.2f}")
    for acc in results.get("accuracy", []):
        print_accuracy(acc, acc["natoms"])
    if r.warnings_seen:
        print(f"\nnote: the {', '.join(sorted(r.warnings_seen))} runs print LAMMPS' warning 'Using spin pair "
              f"style without nve/spin or neb/spin'; it is harmless here (PairSpin only uses nve/spin to "
              f"read its lattice flag, which defaults to frozen).")
    path = os.path.join(r.workdir, "results.json")
    with open(path, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
    print(f"\nresults: {path}  (total {time.time() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
