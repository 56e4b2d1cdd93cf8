#!/usr/bin/python3
"""Writes the TorchScript models used by the pair_style mlspin tests (contract 1).

    make_test_models.py <output folder> <doc folder>

Every model is a few lines of PyTorch scripted here, so that no binary file of
unknown origin enters the tests:

  heisenberg.pt        E = -1/2 sum_edges J(r) S_i.S_j with SPIN's spin/exchange J(r)
                       J(r) = 4 J1 (r/J3)^2 (1 - J2 (r/J3)^2) exp(-(r/J3)^2),
                       J1 per species pair; units metal, float64, species Fe Co
  heisenberg_f32.pt    the same in float32
  heisenberg_lj.pt     the same in units lj, one species A
  heisenberg_big.pt    the same with a larger cutoff (cutoff-check test)
  manybody.pt          non-linear, many-body, spin-rotation invariant: pair, biquadratic,
                       angular and three-spin chirality terms, smooth cutoff; units lj
  manybody_aniso.pt    the same plus a spin-lattice (pseudo-dipolar) anisotropy
  lattice_*.pt         tools/mlspin_train models with the lattice descriptor (native path)
  contract_example.pt  the minimal model of doc/model_contract.rst, run from the doc
  two_levels_mu.pt     the contract 2 example of doc/model_contract.rst, run from the doc
  canonical.pt         contract 2 (mu input), the same formula written here: two levels
                       -+J|S_i| per site at temperature kT and an exchange K(mu) = K0 + K1 mu,
                       J 1, kT 0.5, K0 0.3, K1 0.2, mu range [-3, 3]; units lj, species A
  canonical_sdtb.pt    the same with K0 = K1 = 0: exactly pair_style sd/tb hop 0 J 1 kT 0.5
  kink_mu.pt           contract 2 with N_e(mu) linear below mu = 0 and curved above
  bad_*                invalid files for the error tests
"""
import json
import math
import os
import re
import runpy
import sys

import torch

torch.set_default_dtype(torch.float64)
OUT = sys.argv[1] if len(sys.argv) > 1 else "."
DOC = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "doc")
os.makedirs(OUT, exist_ok=True)

# spin/exchange parameters used by the tests (J1 in eV, J2 dimensionless, J3 in Angstrom)
HEISENBERG = {"J1": [[0.0446928, 0.03], [0.03, 0.02]], "J2": 0.003496, "J3": 1.4885, "cutoff": 3.5}


def meta(cutoff, species, units, dtype="float64", description="", **extra):
    m = {"contract": 1, "cutoff": cutoff, "species": species, "units": units, "dtype": dtype,
         "description": description, "reference": "unittest/models/make_test_models.py",
         "metrics": {}}
    m.update(extra)
    return json.dumps(m)


def save(module, name, metadata=None):
    scripted = torch.jit.script(module)
    path = os.path.join(OUT, name)
    if metadata is None:
        torch.jit.save(scripted, path)
    else:
        torch.jit.save(scripted, path, _extra_files={"mlspin.json": metadata})


class Heisenberg(torch.nn.Module):
    """E_i = -1/2 sum_j J_ab(r_ij) S_i.S_j over the edges of center i."""

    def __init__(self, j1, j2: float, j3: float, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.register_buffer("j1", torch.tensor(j1, dtype=dtype))
        self.j2 = j2
        self.j3 = j3

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        i, j = edge_index[0], edge_index[1]
        ra = (edge_vec * edge_vec).sum(1) / (self.j3 * self.j3)
        coupling = 4.0 * self.j1[types[i], types[j]] * ra * (1.0 - self.j2 * ra) * torch.exp(-ra)
        e_edge = -0.5 * coupling * (spin[i] * spin[j]).sum(1)
        return torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, e_edge)


def smooth_cutoff(r: torch.Tensor, rc: float) -> torch.Tensor:
    x = (r / rc).clamp(max=1.0)
    return (1.0 - x * x) ** 3    # value, first and second derivative vanish at rc


class ManyBody(torch.nn.Module):
    """A non-linear function of per-center invariants with two- and three-body terms.

    Spin-rotation invariant unless `aniso` (a pseudo-dipolar term (S_i . r_ij/r)^2)."""

    def __init__(self, cutoff: float, aniso: bool):
        super().__init__()
        self.rc = cutoff
        self.aniso = aniso
        self.register_buffer("species_scale", torch.tensor([1.0, 0.8]))
        self.register_buffer("w", torch.tensor([-0.7, 0.25, 0.3, 0.45, 0.2, 0.15, 0.35]))
        self.register_buffer("u", torch.tensor([0.4, -0.3, 0.2, 0.5, -0.25, 0.1, -0.3]))

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        center, nbr = edge_index[0], edge_index[1]
        n_edges = center.shape[0]
        r = torch.sqrt((edge_vec * edge_vec).sum(1))
        fc = smooth_cutoff(r, self.rc)
        si = spin[center]
        sj = spin[nbr]
        sij = (si * sj).sum(1)

        zero = torch.zeros(n_local, dtype=spin.dtype)
        g_pair = zero.index_add(0, center, fc * torch.exp(-r) * sij)
        g_biq = zero.index_add(0, center, fc * sij * sij)
        g_dens = zero.index_add(0, center, fc)
        g_aniso = zero
        if self.aniso:
            proj = (si * edge_vec).sum(1) / r
            g_aniso = zero.index_add(0, center, fc * proj * proj)

        # pairs of edges (a, b) sharing a center, a != b (edges are grouped by center)
        counts = torch.bincount(center, minlength=n_local)
        first = torch.cumsum(counts, 0) - counts
        partners = counts[center]
        a = torch.repeat_interleave(torch.arange(n_edges), partners)
        start = torch.repeat_interleave(torch.cumsum(partners, 0) - partners, partners)
        b = first[center[a]] + torch.arange(a.shape[0]) - start
        keep = a != b
        a = a[keep]
        b = b[keep]
        c = center[a]
        cos = (edge_vec[a] * edge_vec[b]).sum(1) / (r[a] * r[b])
        fcc = fc[a] * fc[b]
        sjk = (sj[a] * sj[b]).sum(1)
        chi = (si[a] * torch.cross(sj[a], sj[b], dim=1)).sum(1)    # S_i . (S_j x S_k)
        g_ang = zero.index_add(0, c, fcc * (cos + 1.0 / 3.0) ** 2 * sjk)
        g_chi2 = zero.index_add(0, c, fcc * chi * chi)
        g_chir = zero.index_add(0, c, fcc * chi * (r[a] - r[b]))

        g = torch.stack([g_pair, g_biq, g_dens, g_ang, g_chi2, g_chir, g_aniso], 1)
        scale = self.species_scale[types[:n_local]]
        return scale * (g @ self.w + 0.3 * torch.tanh(g @ self.u) + 0.05 * g_pair * g_pair * g_biq)


class TwoLevelsMu(torch.nn.Module):
    """Contract 2: omega_i = -kT sum_s log(1 + exp((mu + s J|S_i|)/kT)) - (K0 + K1 mu)/2 sum_j S_i.S_j.

    n_i = -d omega_i/d mu = sum_s f(-s J|S_i| - mu) + K1/2 sum_j S_i.S_j, f(x) = 1/(1 + exp(x/kT)):
    the levels -+J|S_i| of pair_style sd/tb with zero hopping, and a mu-dependent exchange."""

    def __init__(self, J: float, kT: float, K0: float, K1: float):
        super().__init__()
        self.J = J
        self.kT = kT
        self.K0 = K0
        self.K1 = K1

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int, mu: torch.Tensor) -> torch.Tensor:
        mag = torch.sqrt((spin[:n_local] * spin[:n_local]).sum(1))
        onsite = torch.zeros(n_local, dtype=spin.dtype)
        for s in [1.0, -1.0]:
            x = (mu + s * self.J * mag) / self.kT
            # log(1 + e^x) without overflow
            onsite = onsite - self.kT * (torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-torch.abs(x))))
        i, j = edge_index[0], edge_index[1]
        bonds = torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, (spin[i] * spin[j]).sum(1))
        return onsite - 0.5 * (self.K0 + self.K1 * mu) * bonds


CANONICAL = {"J": 1.0, "kT": 0.5, "K0": 0.3, "K1": 0.2, "mu_range": [-3.0, 3.0], "cutoff": 1.2}


def meta_mu(params, **extra):
    m = json.loads(meta(params["cutoff"], ["A"], "lj", description="two levels -+J|S| and K(mu) exchange",
                        parameters=params))
    m.update({"contract": 2, "inputs": ["mu"], "mu_range": params["mu_range"]})
    m.update(extra)
    return json.dumps(m)


class StepInMu(torch.nn.Module):
    """Contract 2 with a jump: n_i = 1 for mu < 0 and 2 for mu > 0 (no mu solves 0 < N_e - N < N)."""

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int, mu: torch.Tensor) -> torch.Tensor:
        i, j = edge_index[0], edge_index[1]
        bonds = torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, (spin[i] * spin[j]).sum(1))
        return -torch.where(mu > 0.0, 2.0 * mu, mu) - 0.1 * bonds


class KinkInMu(torch.nn.Module):
    """Contract 2, n_i = 1 + 0.1 mu + 0.1 relu(mu)^2 + 0.1 sum_j S_i.S_j: N_e(mu) is linear for mu < 0
    (d2N/dmu2 = 0 there) and curved for mu > 0, so that a curvature learnt at mu < 0 mispredicts."""

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int, mu: torch.Tensor) -> torch.Tensor:
        i, j = edge_index[0], edge_index[1]
        bonds = torch.zeros(n_local, dtype=spin.dtype).index_add(0, i, (spin[i] * spin[j]).sum(1))
        r = torch.relu(mu)
        return -(mu + 0.05 * mu * mu + (0.1 / 3.0) * r * r * r) - 0.5 * (0.3 + 0.2 * mu) * bonds


class ReturnsNaN(torch.nn.Module):
    """NaN energies on centers of species 1 only (so that one rank of two may fail alone)."""

    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        e = torch.zeros(n_local, dtype=spin.dtype).index_add(0, edge_index[0], (edge_vec * edge_vec).sum(1))
        e = e * spin[:n_local, 0]
        return torch.where(types[:n_local] == 1, e * float("nan"), e)


class ReturnsFloat32(torch.nn.Module):
    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        return (spin[:n_local] * spin[:n_local]).sum(1).float()


class ReturnsScalar(torch.nn.Module):
    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        return (spin * spin).sum()


class WrongSignature(torch.nn.Module):
    def forward(self, spin: torch.Tensor, edge_vec: torch.Tensor) -> torch.Tensor:
        return (spin * spin).sum(1)


class Raises(torch.nn.Module):
    def forward(self, spin: torch.Tensor, types: torch.Tensor, edge_index: torch.Tensor,
                edge_vec: torch.Tensor, n_local: int) -> torch.Tensor:
        if n_local > 0:
            raise RuntimeError("this test model always fails")
        return torch.zeros(n_local, dtype=spin.dtype)


def contract_example():
    """Runs the code block marked 'contract-example' in doc/model_contract.rst."""
    text = open(os.path.join(DOC, "model_contract.rst")).read()
    match = re.search(r"\.\. contract-example-begin\n(.*?)\.\. contract-example-end", text, re.S)
    if not match:
        raise SystemExit("doc/model_contract.rst has no contract-example block")
    block = match.group(1)
    code = "\n".join(line[4:] if line.startswith("    ") else line
                     for line in block.splitlines() if not line.startswith(".. code-block"))
    script = os.path.join(OUT, "contract_example.py")    # TorchScript reads the source file
    with open(script, "w") as f:
        f.write(code)
    cwd = os.getcwd()
    os.chdir(OUT)
    try:
        runpy.run_path(script, run_name="contract_example")
    finally:
        os.chdir(cwd)


def contract_v2_example():
    """Runs the block marked 'contract-v2-example' in doc/model_contract.rst."""
    text = open(os.path.join(DOC, "model_contract.rst")).read()
    match = re.search(r"\.\. contract-v2-example-begin\n(.*?)\.\. contract-v2-example-end", text, re.S)
    if not match:
        raise SystemExit("doc/model_contract.rst has no contract-v2-example block")
    code = "\n".join(line[4:] if line.startswith("    ") else line
                     for line in match.group(1).splitlines() if not line.startswith(".. code-block"))
    script = os.path.join(OUT, "contract_v2_example.py")
    with open(script, "w") as f:
        f.write(code)
    cwd = os.getcwd()
    os.chdir(OUT)
    try:
        runpy.run_path(script, run_name="contract_v2_example")
    finally:
        os.chdir(cwd)


def lattice_models():
    """Small trained-style models of tools/mlspin_train with the lattice descriptor
    (random weights and statistics, two hidden layers), for the native path of
    pair_style mlspin against the TorchScript forward()."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    from mlspin_train.export import make_metadata, save_model
    from mlspin_train.model import build_model

    # the _mu models take the chemical potential (contract 2, MLSpinMuModel)
    specs = [
        ("lattice_square.pt", "square", 2.3, 2.0, "silu", ["float64", "float32"]),
        ("lattice_triangular.pt", "triangular", 2.1, 1.8, "tanh", ["float64"]),
        ("lattice_square_softplus.pt", "square", 1.5, 1.0, "softplus", ["float64"]),
        ("lattice_triangular_gelu.pt", "triangular", 1.8, 1.0, "gelu", ["float64"]),
        ("lattice_square_mu.pt", "square", 2.3, 2.0, "silu", ["float64", "float32"]),
        ("lattice_triangular_mu.pt", "triangular", 1.8, 1.0, "tanh", ["float64"]),
        ("lattice_square_mu_softplus.pt", "square", 1.5, 1.0, "softplus", ["float64"]),
        ("lattice_square_mu_gelu.pt", "square", 1.5, 1.0, "gelu", ["float64"]),
    ]
    for seed, (name, lattice, radius, cross, activation, dtypes) in enumerate(specs):
        torch.manual_seed(100 + seed)
        takes_mu = "_mu" in name
        config = {"species": ["site"], "hidden": [12, 8], "activation": activation, "mu_input": takes_mu,
                  "descriptor": {"kind": "lattice", "lattice": lattice, "radius": radius, "cross_radius": cross}}
        model = build_model(config)
        n = model.descriptor.n_features
        with torch.no_grad():
            model.feature_mean.copy_(0.3 * torch.randn(n, dtype=torch.float64))
            model.feature_scale.copy_(0.5 + torch.rand(n, dtype=torch.float64))
            model.energy_shift.fill_(-0.7)
            model.energy_scale.fill_(0.4)
            model.magnitude_coef.fill_(-0.35)
            if takes_mu:
                model.mu_mean.fill_(-0.5)
                model.mu_scale.fill_(1.3)
                model.density_shift.fill_(0.9)
                model.compressibility.fill_(0.25)
                model.mu_range.copy_(torch.tensor([-3.0, 2.0], dtype=torch.float64))
        meta = make_metadata(model, "lj", {}, {}, {}, f"lattice test model ({lattice}, {activation})")
        for dtype in dtypes:
            path = name if dtype == "float64" else name.replace(".pt", "_f32.pt")
            save_model(model, os.path.join(OUT, path), meta, dtype=dtype)


def main():
    lattice_models()
    h = HEISENBERG
    save(Heisenberg(h["J1"], h["J2"], h["J3"]), "heisenberg.pt",
         meta(h["cutoff"], ["Fe", "Co"], "metal", description="Heisenberg model with spin/exchange J(r)",
              parameters=h))
    save(Heisenberg(h["J1"], h["J2"], h["J3"], torch.float32), "heisenberg_f32.pt",
         meta(h["cutoff"], ["Fe", "Co"], "metal", dtype="float32", description="float32 Heisenberg"))
    save(Heisenberg([[1.0]], 0.2, 1.0), "heisenberg_lj.pt",
         meta(1.8, ["A"], "lj", description="Heisenberg model, lj units"))
    save(Heisenberg(h["J1"], h["J2"], h["J3"]), "heisenberg_big.pt",
         meta(6.0, ["Fe", "Co"], "metal", description="Heisenberg model with a larger cutoff"))
    save(ManyBody(1.7, False), "manybody.pt",
         meta(1.7, ["A", "B"], "lj", description="many-body test model, spin-rotation invariant"))
    save(ManyBody(1.7, True), "manybody_aniso.pt",
         meta(1.7, ["A", "B"], "lj", description="many-body test model with spin-lattice anisotropy"))
    contract_example()
    contract_v2_example()
    c = CANONICAL
    save(TwoLevelsMu(c["J"], c["kT"], c["K0"], c["K1"]), "canonical.pt", meta_mu(c))
    sdtb = dict(c, K0=0.0, K1=0.0)
    save(TwoLevelsMu(sdtb["J"], sdtb["kT"], 0.0, 0.0), "canonical_sdtb.pt", meta_mu(sdtb))
    save(TwoLevelsMu(c["J"], c["kT"], c["K0"], c["K1"]), "bad_v2_no_range.pt",
         json.dumps({k: v for k, v in json.loads(meta_mu(c)).items() if k != "mu_range"}))
    save(Heisenberg([[1.0]], 0.2, 1.0), "bad_v2_signature.pt", meta_mu(c))
    save(StepInMu(), "bad_v2_step.pt", meta_mu(c))
    save(KinkInMu(), "kink_mu.pt", meta_mu(c))

    heis = Heisenberg(h["J1"], h["J2"], h["J3"])
    with open(os.path.join(OUT, "bad_not_torchscript.pt"), "w") as f:
        f.write("this is a text file, not a TorchScript archive\n")
    torch.save(heis.state_dict(), os.path.join(OUT, "bad_state_dict.pt"))
    save(heis, "bad_no_json.pt")
    save(heis, "bad_contract.pt", meta(3.5, ["Fe", "Co"], "metal").replace('"contract": 1', '"contract": 3'))
    save(heis, "bad_units.pt", meta(3.5, ["Fe", "Co"], "real"))
    save(heis, "bad_json.pt", '{"contract": 1, "cutoff": 3.5, ')
    save(heis, "bad_no_cutoff.pt", json.dumps({"contract": 1, "species": ["Fe"], "units": "metal",
                                                 "dtype": "float64"}))
    save(heis, "bad_dtype.pt", meta(3.5, ["Fe", "Co"], "metal", dtype="float16"))
    save(ReturnsNaN(), "bad_nan.pt", meta(3.5, ["Fe", "Co"], "metal"))
    save(ReturnsFloat32(), "bad_dtype_mismatch.pt", meta(3.5, ["Fe", "Co"], "metal"))
    save(ReturnsScalar(), "bad_shape.pt", meta(3.5, ["Fe", "Co"], "metal"))
    save(WrongSignature(), "bad_signature.pt", meta(3.5, ["Fe", "Co"], "metal"))
    save(Raises(), "bad_raises.pt", meta(3.5, ["Fe", "Co"], "metal"))
    with open(os.path.join(OUT, "models.stamp"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
