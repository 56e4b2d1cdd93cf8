/* -*- c++ -*- ----------------------------------------------------------
   mlspin: compute mlspin/electrons

   Local electron numbers n_i = -d omega_i/d mu of a pair_style mlspin model with the
   chemical potential input (contract 2), and the global N_e and mu, from the pair
   style's last evaluation. See doc/compute_mlspin_electrons.rst.
------------------------------------------------------------------------- */

#ifdef COMPUTE_CLASS
// clang-format off
ComputeStyle(mlspin/electrons,ComputeMLSpinElectrons);
// clang-format on
#else

#ifndef LMP_COMPUTE_MLSPIN_ELECTRONS_H
#define LMP_COMPUTE_MLSPIN_ELECTRONS_H

#include "compute.h"

namespace LAMMPS_NS {

class PairMLSpin;

class ComputeMLSpinElectrons : public Compute {
 public:
  ComputeMLSpinElectrons(class LAMMPS *, int, char **);
  ~ComputeMLSpinElectrons() override;
  void init() override;
  void compute_vector() override;
  void compute_peratom() override;
  double memory_usage() override;

 private:
  int nmax = 0;
  double *electrons = nullptr;
  PairMLSpin *pair = nullptr;

  void check_current(const char *what) const;
};

}    // namespace LAMMPS_NS

#endif
#endif
