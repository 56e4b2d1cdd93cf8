#include "lammps_session.h"

#include "exceptions.h"
#include "input.h"
#include "lammps.h"
#include "library.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace mlspin_test {

LammpsSession::LammpsSession(MPI_Comm comm, bool echo)
{
  // the plugin is found through LAMMPS_PLUGIN_PATH, as with build/lmp
  setenv("LAMMPS_PLUGIN_PATH", MLSPIN_PLUGIN_DIR, 1);
  std::vector<const char *> args = {"mlspin_test", "-nocite", "-log", "none"};
  if (!echo) {
    args.push_back("-screen");
    args.push_back("none");
  }
  lmp_ = new LAMMPS_NS::LAMMPS(static_cast<int>(args.size()), const_cast<char **>(args.data()), comm);
  MPI_Comm_rank(comm, &rank_);
}

LammpsSession::~LammpsSession()
{
  delete lmp_;
}

void LammpsSession::command(const std::string &line)
{
  lmp_->input->one(line);
}

void LammpsSession::commands(const std::string &block)
{
  std::istringstream in(block);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t") != std::string::npos) lmp_->input->one(line);
}

std::string LammpsSession::error_of(const std::string &block)
{
  try {
    commands(block);
  } catch (LAMMPS_NS::LAMMPSException &e) {
    return e.what();
  }
  return "";
}

std::vector<double> LammpsSession::gather(const std::string &name, int count)
{
  std::vector<double> data(static_cast<size_t>(natoms()) * count);
  if (name == "fm") {
    // LAMMPS' library interface does not export fm (it would return zeros): read it
    // through compute property/atom
    if (count != 3) throw std::invalid_argument("fm has 3 values per atom");
    command("compute mlspin_test_fm all property/atom fmx fmy fmz");
    lammps_gather(lmp_, "c_mlspin_test_fm", 1, count, data.data());
    command("uncompute mlspin_test_fm");
  } else if (name.rfind("c_", 0) == 0 || name.rfind("f_", 0) == 0) {
    lammps_gather(lmp_, name.c_str(), 1, count, data.data());    // per-atom compute or fix
  } else {
    lammps_gather_atoms(lmp_, name.c_str(), 1, count, data.data());
  }
  return data;
}

void LammpsSession::scatter(const std::string &name, int count, std::vector<double> &values)
{
  lammps_scatter_atoms(lmp_, name.c_str(), 1, count, values.data());
}

double LammpsSession::thermo(const std::string &keyword)
{
  return lammps_get_thermo(lmp_, keyword.c_str());
}

double LammpsSession::variable(const std::string &name)
{
  auto *value = static_cast<double *>(lammps_extract_variable(lmp_, name.c_str(), nullptr));
  if (!value) return NAN;
  const double result = *value;
  lammps_free(value);
  return result;
}

std::vector<int> LammpsSession::gather_int(const std::string &name, int count)
{
  std::vector<int> data(static_cast<size_t>(natoms()) * count);
  lammps_gather_atoms(lmp_, name.c_str(), 0, count, data.data());
  return data;
}

long LammpsSession::natoms()
{
  return static_cast<long>(lammps_get_natoms(lmp_));
}

int world_size()
{
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::string input_dir()
{
  return MLSPIN_TEST_INPUTS;
}

std::string scratch_dir()
{
  static std::string dir;
  if (dir.empty()) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int pid = static_cast<int>(getpid());
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);    // one folder shared by all ranks
    dir = std::string(MLSPIN_TEST_SCRATCH) + "/run-" + std::to_string(pid);
    if (rank == 0) {
      mkdir(MLSPIN_TEST_SCRATCH, 0755);
      mkdir(dir.c_str(), 0755);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  return dir;
}

double max_relative_difference(const std::vector<double> &a, const std::vector<double> &b, double floor)
{
  if (a.size() != b.size()) return INFINITY;
  double worst = 0.0;
  for (size_t i = 0; i < a.size(); i++)
    worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(std::fabs(b[i]), floor));
  return worst;
}

}    // namespace mlspin_test
