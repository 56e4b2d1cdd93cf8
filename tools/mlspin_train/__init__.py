"""mlspin_train: training companion of the mlspin LAMMPS plugin.

Reads data written by LAMMPS runs with the exact s-d reference (pair_style
sd/tb), fits a symmetry-aware machine-learned energy model of the spins and
exports the TorchScript file that pair_style mlspin loads (model contract 1).
"""

__version__ = "0.1.0"
CONTRACT_VERSION = 1
