/* -*- c++ -*- ----------------------------------------------------------
   mlspin: pair_style sd/tb

   Classical spins coupled to tight-binding electrons (s-d / Kondo-lattice /
   double-exchange model), solved exactly (ED) or with the kernel polynomial method
   (KPM) by the LAMMPS-free core (src/core/sd_*.h). The electron problem is global:
   every process gathers all spins, the solver runs (ED on rank 0, KPM shared by all
   ranks) and each process writes the fields of its own atoms. See doc/pair_sd_tb.rst.
------------------------------------------------------------------------- */

#ifndef LMP_PAIR_SD_TB_H
#define LMP_PAIR_SD_TB_H

#include "pair.h"

#include <memory>

namespace LAMMPS_NS {

class PairSDTB : public Pair {
 public:
  PairSDTB(class LAMMPS *);
  ~PairSDTB() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  double memory_usage() override;
  void *extract(const char *, int &) override;

  // Electron density n and spin m = <c+ sigma c> (4 values) at the atom with this ID,
  // from the last evaluation; false if the atom is unknown.
  bool electrons_of(tagint tag, double *out) const;
  bigint last_evaluation_step() const;    // timestep of the last compute(), -1 if none

 private:
  struct Impl;    // settings, gathered sites, hopping matrix, solver, last result
  std::unique_ptr<Impl> impl;

  void parse_settings(int narg, char **arg);
  void gather_sites();
  void update_hopping();
  void solve(bool want_site_energy);
  void scatter_results();
};

}    // namespace LAMMPS_NS

#endif
