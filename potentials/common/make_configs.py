#!/usr/bin/python3
"""Lattices and spin configurations for the training data of the shipped potentials.

Writes what the LAMMPS inputs of this folder read:

    make_configs.py lattice  --lattice triangular --L 18 --out lat.data
        LAMMPS data file (atom_style spin/lattice) of a periodic L x L patch: square
        (a1 = (1,0), a2 = (0,1)) or triangular rhombic torus (a1 = (1,0),
        a2 = (1/2, sqrt3/2)), in a 3D box open along z as in examples/sd_tb_*_quench.
        Atom ID = 1 + a + L b for the site a a1 + b a2. Spins: --state (random with
        --seed, an ordered state, or one configuration of a kind below, e.g.
        --state domains --states tetra --max-noise 0.05).

    make_configs.py configs  --lattice triangular --L 18 --n 200 --seed 1 --out cfg \
                             [--mix random:1,domains:3,texture:2,noisy:2]
        NCONF spin configurations as LAMMPS input files cfg.spins/K.set (K = 0 .. NCONF-1,
        read by in.sd_tb_configs) and cfg.kinds (one line per configuration: what it is).

    make_configs.py perturb  --dump traj.dump [more.dump] --out cfg --n 100 --seed 1 [--sigma 0.05,0.6]
        Snapshots of a trajectory (spread over its length) with random noise of a random
        amplitude in the given range added to every spin.

Kinds of configuration:
    random   independent uniform directions (the start of a quench);
    domains  a Voronoi pattern of K domains (1 to --max-domains), each an ordered state of
             the lattice (--states) turned by a random O(3) rotation (improper rotations
             reverse the chirality), plus noise of a random amplitude;
    texture  an ordered state turned by a smooth, spatially varying rotation (a few long
             waves), plus noise: twisted order and soft domain walls;
    noisy    an ordered state with noise of a random amplitude (0 to --max-noise).

Ordered states: triangular: tetra (chiral tetrahedral, four sublattices), stripe, 120,
ferro; square: neel, ferro, stripe (collinear (pi, 0)), and 'ps' (phase separated:
ferromagnetic droplets in a Neel background).
"""

import argparse
import math
import os
import sys

import numpy as np

H = math.sqrt(3.0) / 2.0


# ordered states drawn by the kinds of `configs` (repeats weight them)
CONFIG_STATES = {
    "triangular": ["tetra", "tetra", "tetra", "stripe", "120", "ferro"],
    "square": ["neel", "neel", "ps", "ps", "ferro", "stripe"],
}


def sites(lattice, L):
    b, a = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    a, b = a.ravel(), b.ravel()  # ID - 1 = a + L b
    if lattice == "triangular":
        xy = np.stack([a + 0.5 * b, H * b], 1)
        cell = np.array([[L, 0.0], [0.5 * L, H * L]])
    elif lattice == "square":
        xy = np.stack([a, b], 1).astype(float)
        cell = np.array([[L, 0.0], [0.0, L]])
    else:
        raise SystemExit("lattice must be square or triangular")
    return a, b, xy, cell


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def random_spins(rng, n):
    return unit(rng.normal(size=(n, 3)))


def random_rotation(rng, proper=False):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if not proper and rng.random() < 0.5:
        q = -q  # improper: S -> -R S reverses every scalar chirality
    return q


def ordered(lattice, state, a, b):
    n = len(a)
    if state == "ferro":
        return np.tile([0.0, 0.0, 1.0], (n, 1))
    if lattice == "triangular":
        if state == "tetra":
            q = 1 / math.sqrt(3)
            c = np.array([(q, q, q), (q, -q, -q), (-q, q, -q), (-q, -q, q)])
            return c[2 * (a % 2) + b % 2]
        if state == "stripe":
            return np.stack([0 * a, 0 * a, np.where(a % 2 == 0, 1.0, -1.0)], 1)
        if state == "120":
            phi = 2 * np.pi * ((a - b) % 3) / 3
            return np.stack([np.cos(phi), np.sin(phi), 0 * phi], 1)
    else:
        if state == "neel":
            return np.stack([0 * a, 0 * a, (-1.0) ** (a + b)], 1)
        if state == "stripe":
            return np.stack([0 * a, 0 * a, (-1.0) ** a], 1)
    raise SystemExit(f"unknown state {state} for the {lattice} lattice")


def periodic_distance(xy, centre, cell):
    inv = np.linalg.inv(cell)
    d = (xy - centre) @ inv
    d -= np.round(d)
    best = np.full(len(xy), np.inf)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            best = np.minimum(best, np.linalg.norm((d + [i, j]) @ cell, axis=1))
    return best


def rotate_field(spins, omega):
    """Rotate every spin about its own rotation vector omega_i (Rodrigues)."""
    th = np.linalg.norm(omega, axis=1, keepdims=True)
    k = np.where(th > 1e-12, omega / np.maximum(th, 1e-12), 0.0)
    return (spins * np.cos(th) + np.cross(k, spins) * np.sin(th)
            + k * np.sum(k * spins, 1, keepdims=True) * (1 - np.cos(th)))


def add_noise(rng, spins, sigma):
    return unit(spins + sigma * rng.normal(size=spins.shape))


class Generator:
    def __init__(self, lattice, L, states, max_domains, max_noise, rng):
        self.lattice, self.L, self.rng = lattice, L, rng
        self.a, self.b, self.xy, self.cell = sites(lattice, L)
        self.states = states
        self.max_domains, self.max_noise = max_domains, max_noise

    def state(self, name=None):
        rng = self.rng
        name = name or self.states[rng.integers(len(self.states))]
        if name == "ps":  # ferromagnetic droplets in a Neel background (square lattice)
            s = ordered(self.lattice, "neel", self.a, self.b)
            fm = unit(rng.normal(size=3))
            for _ in range(rng.integers(1, 5)):
                c = self.xy[rng.integers(len(self.xy))]
                r = rng.uniform(1.0, 0.25 * self.L)
                inside = periodic_distance(self.xy, c, self.cell) < r
                s[inside] = fm if rng.random() < 0.5 else unit(rng.normal(size=3))
            return name, s @ random_rotation(rng).T
        # a random lattice translation, then a random O(3) rotation
        da, db = rng.integers(4), rng.integers(4)
        s = ordered(self.lattice, name, self.a + da, self.b + db)
        return name, s @ random_rotation(rng).T

    def random(self):
        return "random", random_spins(self.rng, len(self.a))

    def noisy(self):
        name, s = self.state()
        sigma = self.rng.uniform(0, self.max_noise)
        return f"noisy {name} sigma {sigma:.3f}", add_noise(self.rng, s, sigma)

    def domains(self):
        rng = self.rng
        k = int(rng.integers(1, self.max_domains + 1))
        centres = self.xy[rng.choice(len(self.xy), k, replace=False)]
        dist = np.stack([periodic_distance(self.xy, c, self.cell) for c in centres], 1)
        owner = np.argmin(dist, 1)
        s = np.zeros((len(self.a), 3))
        names = []
        for d in range(k):
            name, sd = self.state()
            names.append(name)
            s[owner == d] = sd[owner == d]
        sigma = rng.uniform(0, self.max_noise)
        return f"domains {k} {'/'.join(names)} sigma {sigma:.3f}", add_noise(rng, s, sigma)

    def texture(self):
        rng = self.rng
        name, s = self.state()
        omega = np.zeros((len(self.a), 3))
        inv = np.linalg.inv(self.cell)
        frac = self.xy @ inv
        amp = rng.uniform(0.3, 2.0)
        for _ in range(rng.integers(1, 4)):
            m = rng.integers(-2, 3, size=2)
            if not m.any():
                m[0] = 1
            phase = 2 * np.pi * (frac @ m) + rng.uniform(0, 2 * np.pi)
            omega += amp * np.cos(phase)[:, None] * unit(rng.normal(size=3))
        sigma = rng.uniform(0, 0.5 * self.max_noise)
        return f"texture {name} amp {amp:.2f} sigma {sigma:.3f}", add_noise(rng, rotate_field(s, omega), sigma)


def write_data(path, lattice, L, spins, title):
    a, b, xy, cell = sites(lattice, L)
    with open(path, "w") as f:
        f.write(f"{title}\n\n{L * L} atoms\n1 atom types\n\n")
        if lattice == "triangular":
            f.write(f"0 {L} xlo xhi\n0 {H * L:.17g} ylo yhi\n-0.5 0.5 zlo zhi\n{0.5 * L:.17g} 0 0 xy xz yz\n\n")
            off = (0.1, 0.05)
        else:
            f.write(f"0 {L} xlo xhi\n0 {L} ylo yhi\n-0.5 0.5 zlo zhi\n\n")
            off = (0.1, 0.1)
        f.write("Masses\n\n1 1.0\n\nAtoms # spin/lattice\n\n")
        for k in range(L * L):
            s = spins[k]
            f.write(f"{k + 1} 1 {xy[k, 0] + off[0]:.17g} {xy[k, 1] + off[1]:.17g} 0 "
                    f"{s[0]:.17g} {s[1]:.17g} {s[2]:.17g} 1\n")


def write_atomfiles(prefix, configs, kinds):
    """PREFIX.spins/K.set (LAMMPS 'set atom ID spin/atom 1 x y z' lines for configuration
    K; LAMMPS 4Feb2025's set spin/atom misassigns atom-style variables, so no atomfile)
    and PREFIX.kinds."""
    folder = f"{prefix}.spins"
    os.makedirs(folder, exist_ok=True)
    for k, s in enumerate(configs):
        with open(os.path.join(folder, f"{k}.set"), "w") as f:
            f.write("".join(f"set atom {i + 1} spin/atom 1.0 {v[0]:.17g} {v[1]:.17g} {v[2]:.17g}\n"
                            for i, v in enumerate(s)))
    with open(f"{prefix}.kinds", "w") as f:
        f.write("".join(f"{k} {kind}\n" for k, kind in enumerate(kinds)))


def read_dump_spins(path):
    frames = []
    with open(path) as f:
        lines = f.read().split("\n")
    k = 0
    while k < len(lines) and lines[k].startswith("ITEM: TIMESTEP"):
        step = int(lines[k + 1])
        n = int(lines[k + 3])
        names = lines[k + 8].split()[2:]
        data = np.array([[float(v) for v in line.split()] for line in lines[k + 9:k + 9 + n]])
        col = {name: c for c, name in enumerate(names)}
        order = np.argsort(data[:, col["id"]])
        s = data[order][:, [col["spx"], col["spy"], col["spz"]]]
        frames.append((step, s))
        k += 9 + n
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("lattice")
    p.add_argument("--lattice", required=True)
    p.add_argument("--L", type=int, required=True)
    p.add_argument("--state", default="random",
                   help="random, an ordered state, or a kind of configuration (domains, texture, noisy)")
    p.add_argument("--states", default=None, help="ordered states of the kinds (comma list)")
    p.add_argument("--max-domains", type=int, default=6)
    p.add_argument("--max-noise", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    p = sub.add_parser("configs")
    p.add_argument("--lattice", required=True)
    p.add_argument("--L", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mix", default="random:1,domains:3,texture:2,noisy:2")
    p.add_argument("--states", default=None, help="comma list of ordered states (default: per lattice)")
    p.add_argument("--max-domains", type=int, default=6)
    p.add_argument("--max-noise", type=float, default=0.8)
    p = sub.add_parser("perturb")
    p.add_argument("--dump", required=True, nargs="+", help="trajectory dumps (snapshots of all, in order)")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--sigma", default="0.05,0.6")
    args = ap.parse_args()
    if args.cmd == "lattice":
        a, b, xy, cell = sites(args.lattice, args.L)
        rng = np.random.default_rng(args.seed)
        title = args.state
        if args.state == "random":
            s = random_spins(rng, len(a))
        elif args.state in ("domains", "texture", "noisy"):
            states = args.states.split(",") if args.states else (["tetra"] if args.lattice == "triangular" else ["ps"])
            gen = Generator(args.lattice, args.L, states, args.max_domains, args.max_noise, rng)
            title, s = getattr(gen, args.state)()
        else:
            s = ordered(args.lattice, args.state, a, b)
        write_data(args.out, args.lattice, args.L, s, f"{args.lattice} {args.L}x{args.L}, spins {title}")
    elif args.cmd == "configs":
        rng = np.random.default_rng(args.seed)
        states = args.states.split(",") if args.states else CONFIG_STATES[args.lattice]
        gen = Generator(args.lattice, args.L, states, args.max_domains, args.max_noise, rng)
        mix = [(kv.split(":")[0], float(kv.split(":")[1])) for kv in args.mix.split(",")]
        w = np.array([m[1] for m in mix]) / sum(m[1] for m in mix)
        configs, kinds = [], []
        for _ in range(args.n):
            kind = mix[rng.choice(len(mix), p=w)][0]
            name, s = getattr(gen, kind)()
            configs.append(s)
            kinds.append(name)
        write_atomfiles(args.out, configs, kinds)
    else:
        rng = np.random.default_rng(args.seed)
        lo, hi = (float(x) for x in args.sigma.split(","))
        frames = []
        for dump in args.dump:
            frames += [(f"{dump} step {step}", s) for step, s in read_dump_spins(dump)]
        pick = np.linspace(0, len(frames) - 1, args.n).round().astype(int)
        configs, kinds = [], []
        for k in pick:
            step, s = frames[k]
            sigma = rng.uniform(lo, hi)
            configs.append(add_noise(rng, s, sigma))
            kinds.append(f"perturbed {step} sigma {sigma:.3f}")
        write_atomfiles(args.out, configs, kinds)


if __name__ == "__main__":
    sys.exit(main())
