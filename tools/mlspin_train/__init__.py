"""mlspin_train: training companion of the mlspin LAMMPS plugin.

Reads data written by LAMMPS runs with the exact s-d reference (pair_style
sd/tb), fits a symmetry-aware machine-learned energy model of the spins and
exports the TorchScript file that pair_style mlspin loads (model contract 1, or
2 for models with the chemical potential as an input).
"""

import os

# OpenMP threads that spin while waiting made a 2-thread training step twice as slow
# as a 1-thread one on a 2-core machine (no gain once passive: 19 s against 20 s per
# epoch on train_c12, 39 s spinning). libgomp reads this when torch loads it, so it is
# set here, before any module of the package imports torch; a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
CONTRACT_VERSION = 1
CONTRACT_MU_VERSION = 2  # models with the chemical potential input
CONTRACT_VERSIONS = (CONTRACT_VERSION, CONTRACT_MU_VERSION)
