// Helpers for LAMMPS-driven tests: a LAMMPS instance on a chosen communicator with
// the mlspin plugin available, per-atom data gathered in atom-ID order, and error
// messages captured for the bad-input tests.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

namespace LAMMPS_NS {
class LAMMPS;
}

namespace mlspin_test {

class LammpsSession {
 public:
  // comm: MPI_COMM_WORLD for the parallel run, MPI_COMM_SELF for a serial reference.
  explicit LammpsSession(MPI_Comm comm = MPI_COMM_WORLD, bool echo = false);
  ~LammpsSession();
  LammpsSession(const LammpsSession &) = delete;
  LammpsSession &operator=(const LammpsSession &) = delete;

  void command(const std::string &line);
  void commands(const std::string &block);    // several lines

  // Runs the commands and returns the LAMMPS error message (empty if none was raised).
  std::string error_of(const std::string &block);

  // Per-atom property (x, v, f, sp, fm, ...), compute (c_ID) or fix (f_ID) with `count`
  // values per atom, ordered by ID.
  std::vector<double> gather(const std::string &name, int count);
  void scatter(const std::string &name, int count, std::vector<double> &values);    // inverse of gather
  double thermo(const std::string &keyword);          // e.g. "pe", "step"
  std::vector<int> gather_int(const std::string &name, int count);    // type, mask, ...
  double variable(const std::string &name);           // value of an equal-style variable
  long natoms();
  int rank() const { return rank_; }

  LAMMPS_NS::LAMMPS *lmp() { return lmp_; }

 private:
  LAMMPS_NS::LAMMPS *lmp_ = nullptr;
  int rank_ = 0;
};

// Folder with the test inputs (unittest/lammps/inputs) and a scratch folder unique to
// this process (for data, restart and dump files).
int world_size();    // ranks in MPI_COMM_WORLD
std::string input_dir();
std::string scratch_dir();

// Largest |a_i - b_i| / max(|b_i|, floor).
double max_relative_difference(const std::vector<double> &a, const std::vector<double> &b,
                               double floor = 1.0);

}    // namespace mlspin_test
