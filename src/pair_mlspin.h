/* -*- c++ -*- ----------------------------------------------------------
   mlspin: pair_style mlspin

   Energies, exchange fields fm, forces and the virial from a TorchScript model
   (contract version 1, doc/model_contract.rst): neighbor packing, one model call
   (src/core/torch_model.h), scatter of the results. See doc/pair_mlspin.rst.
------------------------------------------------------------------------- */

#ifdef PAIR_CLASS
// clang-format off
PairStyle(mlspin,PairMLSpin);
// clang-format on
#else

#ifndef LMP_PAIR_MLSPIN_H
#define LMP_PAIR_MLSPIN_H

#include "pair.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace LAMMPS_NS {

class PairMLSpin : public Pair {
 public:
  PairMLSpin(class LAMMPS *);
  ~PairMLSpin() override;

  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;
  void setup() override;
  void finish() override;
  double memory_usage() override;
  void write_restart(FILE *) override;
  void read_restart(FILE *) override;
  void write_restart_settings(FILE *) override;
  void read_restart_settings(FILE *) override;
  void *extract(const char *, int &) override;

  // electrons of a model with the chemical potential input (contract 2), for
  // compute mlspin/electrons: values of the last evaluation
  bool takes_mu() const;
  double chemical_potential() const;
  double electron_number() const;                   // N_e, all ranks
  const double *atom_electrons() const;             // n_i per local atom (when requested)
  int64_t last_evaluation_step() const;
  void request_atom_electrons();                    // from now until the next init_style()

 private:
  struct Impl;    // model, settings, type map, reused buffers, timers
  std::unique_ptr<Impl> impl;

  void allocate();
  void load_model(const std::string &file);
  void select_native_path();
  void check_cutoff() const;
  void warn_if_forces_needed() const;
  void check_electron_settings() const;
  bool solve_chemical_potential(int64_t chunk, bool one_chunk);
  int evaluate_all(int64_t chunk, bool one_chunk, std::string &message);
  void save_accumulators();
  void restore_accumulators();
  void sum_electrons();

  void collect_centers();
  void prepare_inputs(int64_t first, int64_t last);
  int call_model(std::string &message);
  void scatter_results();
  void release_slots();
  void scatter_fields();
  void scatter_forces_and_virial();
  void report_failure(int status, const std::string &message);
};

}    // namespace LAMMPS_NS

#endif
#endif
