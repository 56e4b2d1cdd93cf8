#!/usr/bin/env python3
"""Cost of canonical electrons (`pair_style mlspin filling f`) against a fixed chemical
potential (`mu m`), per spin and field evaluation.

    run_benchmark.py [--build build] [--size 64] [--steps 200] [--ranks 1] [--repeat 3]

Square lattice of L x L unit spins (units lj, a = 1), fix llg (SIB: two field
evaluations per step), damped, so that the spins and the solved mu change at every
evaluation. Two contract 2 models:

  analytic  canonical.pt of unittest/models/make_test_models.py: two levels -+J|S_i| per
            site and a mu-dependent nearest-neighbour exchange (doc/model_contract.rst)
  mlp       omega_i = -2 kT softplus((mu - g_i)/kT) with g_i an MLP 4-64-64-1 (tanh) of
            four invariant sums over the neighbours within 2.1 a (12 neighbours):
            the cost of a small trained model, with mu entering after the network

Further models (e.g. a shipped contract 2 potential, on the native path) with --model
PATH (their species --species, their filling --model-filling); --no-builtin skips the two
above.
For each model: `filling 0.4` and `mu m` with m the mu that filling run ended at, the
same warm-up and timed run; the best loop time of --repeat runs is reported. Cost per
spin and evaluation = loop time / (spins x steps x 2). The canonical runs also report
the electron counts per evaluation (`timers yes`). Prints a table; fails nothing.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

INPUT = """units lj
dimension 2
atom_style spin/lattice
atom_modify map array
boundary p p p
lattice sq 1.0
region box block 0 {L} 0 {L} -0.5 0.5
create_box 1 box
create_atoms 1 box
mass 1 1.0
set group all spin/atom/random 31415 1.0
neighbor 0.3 bin
neigh_modify every 1000000 check no
pair_style mlspin {electrons} timers yes
pair_coeff * * {model} {species}
compute el all mlspin/electrons
fix llg all llg alpha 0.1 integrator sib
timestep 0.003
thermo_style custom step pe c_el[1] c_el[2]
thermo_modify format float %.15g
run {warmup} post no
run {steps}
"""

MLP_MODEL = '''
import json, sys
import torch
import torch.nn.functional as F

class MuMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                                       torch.nn.Tanh(), torch.nn.Linear(64, 1)).double()
        self.kT = 0.5

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int, mu: torch.Tensor) -> torch.Tensor:
        i, j = edge_index[0], edge_index[1]
        r = torch.sqrt((edge_vec * edge_vec).sum(1))
        fc = (1.0 - (r / 2.1) ** 2) ** 2
        sij = (spin[i] * spin[j]).sum(1)
        zero = torch.zeros(n_local, dtype=spin.dtype)
        feats = torch.stack([zero.index_add(0, i, fc * sij), zero.index_add(0, i, fc * sij * sij),
                             zero.index_add(0, i, fc * torch.exp(-r) * sij), zero.index_add(0, i, fc)], 1)
        g = self.net(feats).squeeze(1)
        return -2.0 * self.kT * F.softplus((mu - g) / self.kT)

meta = {"contract": 2, "inputs": ["mu"], "mu_range": [-6.0, 6.0], "cutoff": 2.1, "species": ["A"],
        "units": "lj", "dtype": "float64", "description": "benchmark: softplus of an MLP, mu input"}
torch.jit.save(torch.jit.script(MuMLP()), sys.argv[1], _extra_files={"mlspin.json": json.dumps(meta)})
'''


def run(lmp, workdir, text, ranks):
    path = os.path.join(workdir, "in.bench")
    with open(path, "w") as f:
        f.write(text)
    cmd = [lmp, "-in", path, "-log", os.path.join(workdir, "log.lammps")]
    if ranks > 1:
        cmd = ["mpirun", "--allow-run-as-root", "-np", str(ranks)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stdout[-3000:] + out.stderr[-3000:])
    loop = float(re.findall(r"Loop time of ([0-9.eE+-]+) on", out.stdout)[-1])
    counts = re.findall(r"canonical electrons: ([0-9.eE+-]+) electron-count passes", out.stdout)
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+(\S+)\s+(\S+)\s*$", out.stdout, re.M)
    return loop, (float(counts[-1]) if counts else 0.0), float(rows[-1][2])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--filling", type=float, default=0.4)
    p.add_argument("--model", action="append", default=[], help="another contract 2 model file (repeatable)")
    p.add_argument("--species", default="site", help="species of the --model files (pair_coeff)")
    p.add_argument("--model-filling", type=float, default=0.485, help="filling of the --model runs")
    p.add_argument("--no-builtin", action="store_true", help="only the --model files")
    a = p.parse_args()
    lmp = os.path.join(a.build, "lmp")
    with tempfile.TemporaryDirectory() as work:
        models = os.path.join(work, "models")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "unittest", "models", "make_test_models.py"), models,
                        os.path.join(ROOT, "doc")], check=True, capture_output=True)
        with open(os.path.join(work, "mlp.py"), "w") as f:
            f.write(MLP_MODEL)
        subprocess.run(["/usr/bin/python3", os.path.join(work, "mlp.py"), os.path.join(models, "mlp.pt")], check=True)
        spins = a.size * a.size
        evaluations = 2 * a.steps
        print(f"L = {a.size} ({spins} spins), {a.steps} SIB steps ({evaluations} evaluations), {a.ranks} rank(s), "
              f"best of {a.repeat}\n")
        print("| model | mode | loop s | us per spin and evaluation | electron counts per evaluation | ratio |")
        print("|---|---|---|---|---|---|")
        cases = [] if a.no_builtin else [("analytic", os.path.join(models, "canonical.pt"), "A", a.filling),
                                          ("mlp", os.path.join(models, "mlp.pt"), "A", a.filling)]
        cases += [(os.path.relpath(m, ROOT), os.path.abspath(m), a.species, a.model_filling) for m in a.model]
        for name, model, species, filling in cases:
            results = {}
            mu_end = None
            for mode in ("filling", "mu"):
                electrons = f"filling {filling}" if mode == "filling" else f"mu {mu_end:.12g}"
                best = None
                for _ in range(a.repeat):
                    text = INPUT.format(L=a.size, electrons=electrons, model=model, species=species, warmup=a.warmup,
                                        steps=a.steps)
                    loop, counts, mu = run(lmp, work, text, a.ranks)
                    if best is None or loop < best[0]:
                        best = (loop, counts)
                    if mode == "filling":
                        mu_end = mu
                results[mode] = best
            for mode in ("mu", "filling"):
                loop, counts = results[mode]
                per = 1e6 * loop / (spins * evaluations)
                ratio = loop / results["mu"][0]
                print(f"| {name} | {mode} | {loop:.3f} | {per:.3f} | {counts:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
