"""Descriptor values pinned to the first implementation (commit c527909).

Fast paths of the descriptors must not change what they compute: models trained
before a change and exported after it have to give the same energies and fields.
The numbers below were computed by the original implementation: projections of
the features of deterministic configurations on fixed weights, the first features
of atom 0, and the gradient of the first projection with respect to the spins of
atoms 0 and 3."""

import numpy as np
import pytest
import torch

from mlspin_train.continuous_descriptor import ContinuousDescriptor, ContinuousDescriptorConfig
from mlspin_train.dataset import Box, planar_box
from mlspin_train.graph import build_graph
from mlspin_train.lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig
from mlspin_train.toy_sd import make_lattice

REFERENCE = {
    "square_r3": {
        "projections": [-0.5705347251837787, 17.556729783249338, 118.56583375823979],
        "atom0": [1.2100000000000004, 0.5541885404165701, 1.029032738480043, 0.23721557139430452, 0.2305103093487949, -0.0645715259483972],
        "grad": [-13.270146327484108, 7.734469239253329, -7.97520148428964, 3.138186196297961, 7.003804324644703, 6.187282177416132],
    },
    "triangular_r3": {
        "projections": [-20.30761984730464, 29.758971048726185, 132.9126628512885],
        "atom0": [1.2100000000000004, 0.8471021174189214, 1.0701086835016775, 0.7377523057073424, -0.30009343256443255, -0.5134300525576183],
        "grad": [-10.785824578023151, 8.047598139225208, 3.351538589475236, -8.931746140618374, 10.365110027870324, -7.5242190046198445],
    },
    "square_r2_options": {
        "projections": [-113.703379776305, 103.71728658253234, -20.74579668516124],
        "atom0": [1.2100000000000004, 0.5541885404165701, 1.029032738480043, 0.23721557139430452, 0.9160477727784642, 0.8920611181614958],
        "grad": [-7.779715938447888, -15.029880490047754, 30.7101908677088, 59.75839610132679, 23.411145416921542, 18.337225893259983],
    },
    "continuous": {
        "projections": [-6.203133167765371, 3.505797589157421, 21.330178496956442],
        "atom0": [1.2100000000000004, 0.004923263396609088, 0.11906135846869745, 0.4746879493158212, 0.35684561363597495, 0.3574066228031067],
        "grad": [0.031092989690819417, 0.09513018077304447, 1.5910152832224151, 0.4802403450195672, 1.2767882713601602, 0.8611801121280015],
    },
}

LATTICE_CASES = {
    "square_r3": ("square", {}),
    "triangular_r3": ("triangular", {}),
    "square_r2_options": ("square", dict(radius=2.0, time_reversal=False, bond_shells=2, chiral_radius=2.0, ref_decay=0.0)),
}


def spins_of(n):
    i = np.arange(n, dtype=float)
    s = np.stack([np.sin(1.7 * i + 0.3), np.cos(2.3 * i), np.sin(0.9 * i + 1.1)], 1)
    return s / np.linalg.norm(s, axis=1, keepdims=True) * (1.0 + 0.1 * np.cos(0.5 * i))[:, None]


def weights(n, f):
    i, k = np.meshgrid(np.arange(n, dtype=float), np.arange(f, dtype=float), indexing="ij")
    return np.stack([np.cos(0.37 * i + 1.13 * k), np.sin(0.71 * i - 0.29 * k + 0.5), np.cos(0.11 * i * k + 0.2)])


def values(desc, spins, types, g, n):
    s = torch.tensor(spins).requires_grad_(True)
    x = desc(s, torch.tensor(types), torch.tensor(g.edge_index), torch.tensor(g.edge_vec), n)
    w = torch.tensor(weights(n, x.shape[1]))
    proj = (w * x.unsqueeze(0)).sum((1, 2))
    (grad,) = torch.autograd.grad(proj[0], s)
    return {"projections": proj.tolist(), "atom0": x[0, :6].tolist(), "grad": grad[[0, 3]].reshape(-1).tolist()}


def check(got, ref):
    for key, expected in ref.items():
        expected = np.array(expected)
        scale = np.maximum(1.0, np.abs(expected))
        assert np.all(np.abs(np.array(got[key]) - expected) <= 1e-10 * scale), key


@pytest.mark.parametrize("name", sorted(LATTICE_CASES))
def test_lattice_descriptor_values_are_those_of_the_first_implementation(name):
    lattice, kw = LATTICE_CASES[name]
    kw = dict(kw)
    radius = kw.pop("radius", 3.0)
    desc = LatticeDescriptor(LatticeDescriptorConfig(lattice=lattice, radius=radius, **kw)).double()
    pos, box = make_lattice(lattice, 8, 8)
    g = build_graph(pos, planar_box(box, 2), desc.cutoff)
    check(values(desc, spins_of(len(pos)), np.zeros(len(pos), dtype=np.int64), g, len(pos)), REFERENCE[name])


def test_continuous_descriptor_values_are_those_of_the_first_implementation():
    cell = np.array([[4.2, 0.0, 0.0], [0.7, 3.9, 0.0], [-0.4, 0.5, 4.4]])
    frac = np.array([[(0.37 * i) % 1, (0.61 * i + 0.2) % 1, (0.83 * i + 0.5) % 1] for i in range(14)])
    types = np.array([i % 2 for i in range(14)], dtype=np.int64)
    desc = ContinuousDescriptor(ContinuousDescriptorConfig(cutoff=2.5, n_radial=4, lmax=3, n_species=2)).double()
    g = build_graph(frac @ cell, Box(np.zeros(3), cell, np.array([True, True, True])), desc.cutoff)
    check(values(desc, spins_of(14), types, g, 14), REFERENCE["continuous"])
