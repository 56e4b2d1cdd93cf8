/* -*- c++ -*- ----------------------------------------------------------
   mlspin: compute sd/tb/electrons

   Per-atom electron density n_i and local electron spin m_i = <c+_i sigma c_i> of
   pair_style sd/tb, from its last evaluation, for dumps and analysis.
   See doc/pair_sd_tb.rst.
------------------------------------------------------------------------- */

#ifndef LMP_COMPUTE_SD_TB_ELECTRONS_H
#define LMP_COMPUTE_SD_TB_ELECTRONS_H

#include "compute.h"

namespace LAMMPS_NS {

class PairSDTB;

class ComputeSDTBElectrons : public Compute {
 public:
  ComputeSDTBElectrons(class LAMMPS *, int, char **);
  ~ComputeSDTBElectrons() override;
  void init() override;
  void compute_peratom() override;
  double memory_usage() override;

 private:
  int nmax = 0;
  double **electrons = nullptr;
  PairSDTB *pair = nullptr;
};

}    // namespace LAMMPS_NS

#endif
