"""Descriptor values pinned to a reference implementation.

Fast paths of the descriptors must not change what they compute: models trained
before a change and exported after it have to give the same energies and fields.
The numbers below are projections of the features of deterministic
configurations on fixed weights, the first features of atom 0, and the gradient
of the first projection with respect to the spins of atoms 0 and 3. Continuous
descriptor: computed by its first implementation (commit c527909). Lattice
descriptor: computed with the canonical tables (lattice_tables.TABLES_VERSION 2),
which are the same on every machine; they agreed to 3e-15 under the OpenBLAS
kernels Haswell, Zen and Sandybridge with 1 and 2 threads. (The first
implementation's tables took irrep bases from an eigensolver, so its numbers
held for some BLAS kernels and thread counts only.)"""

import numpy as np
import pytest
import torch

from mlspin_train.continuous_descriptor import ContinuousDescriptor, ContinuousDescriptorConfig
from mlspin_train.dataset import Box, planar_box
from mlspin_train.graph import build_graph
from mlspin_train.lattice_descriptor import LatticeDescriptor, LatticeDescriptorConfig
from mlspin_train.lattice import make_lattice

REFERENCE = {
    "square_r3": {
        "projections": [-20.012072115277412, 29.847242585715648, 100.62538625201687],
        "atom0": [1.21, 0.5541885404165701, 1.0290327384800426, 0.23721557139430444, 0.23051030934879496, -0.0645715259483971],
        "grad": [-9.942801070419563, 8.100672575423198, -11.792609499097958, 2.55818658433552, 3.225401899550559, 8.636604086008363],
    },
    "triangular_r3": {
        "projections": [14.807379238927245, 6.217846738123637, 112.9999194666303],
        "atom0": [1.21, 0.8471021174189214, 1.0701086835016775, 0.7377523057073424, -0.30009343256443227, -0.5134300525576184],
        "grad": [9.435689927286507, 17.602418364761704, 13.066270017256358, -2.504383822764719, 8.399875559799787, -3.640261888456611],
    },
    "square_r2_options": {
        "projections": [14.898277587606287, 128.24393807130502, 78.07331842220975],
        "atom0": [1.21, 0.5541885404165701, 1.0290327384800426, 0.23721557139430444, 0.9160477727784638, 0.8920611181614952],
        "grad": [-8.184351710616221, -5.759423630184566, 16.84549920173886, 129.21640869145443, 15.044088072734644, 35.4763202441516],
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
def test_lattice_descriptor_values_are_those_of_the_canonical_tables(name):
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
