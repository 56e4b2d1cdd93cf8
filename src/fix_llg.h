/* -*- c++ -*- ----------------------------------------------------------
   mlspin: fix llg

   Stochastic Landau-Lifshitz-Gilbert dynamics of the spins of a group, with the
   lattice frozen or integrated together with the spins. Every integrator stage uses
   fields evaluated at that stage's spins. See doc/fix_llg.rst.
------------------------------------------------------------------------- */

#ifndef LMP_FIX_LLG_H
#define LMP_FIX_LLG_H

#include "fix.h"

#include <memory>
#include <vector>

namespace mlspin {
struct Vec3;
}

namespace LAMMPS_NS {

class FixLLG : public Fix {
 public:
  FixLLG(class LAMMPS *, int, char **);
  ~FixLLG() override;

  int setmask() override;
  void init() override;
  void setup(int) override;
  void setup_pre_reverse(int, int) override;
  void pre_reverse(int, int) override;
  void initial_integrate(int) override;
  void final_integrate() override;
  double compute_scalar() override;
  int pack_forward_comm(int, int *, double *, int, int *) override;
  void unpack_forward_comm(int, int, double *) override;
  int pack_reverse_comm(int, int, double *) override;
  void unpack_reverse_comm(int, int *, double *) override;
  double memory_usage() override;

 private:
  struct Impl;    // core integrator, settings and per-step buffers
  std::unique_ptr<Impl> impl;

  void parse_arguments(int narg, char **arg);
  void check_no_other_integrator();
  void check_spins();
  void find_field_sources();
  bool forces_read_before_next_evaluation();
  bool ghosts_may_be_stale();
  void update_members();
  void evaluate_fields(const std::vector<mlspin::Vec3> &s, std::vector<mlspin::Vec3> &w);
  void clear_fields(bool forces);
  void compute_pair_fields(bool forces);
  void sum_ghost_contributions(bool forces);
  void lattice_half_kick_and_drift();
  void lattice_half_kick();
};

}    // namespace LAMMPS_NS

#endif
