// Helpers shared by the pair_style mlspin tests: model paths, per-atom data, virial.
#pragma once

#include "lammps_session.h"

#include "library.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace mlspin_test {

// a model written by unittest/models/make_test_models.py
inline std::string model_file(const std::string &name)
{
  return std::string(MLSPIN_TEST_MODELS) + "/" + name;
}

// a potential file shipped with the LAMMPS source tree the plugin was built for
inline std::string lammps_potential(const std::string &name)
{
  return std::string(MLSPIN_LAMMPS_POTENTIALS) + "/" + name;
}

inline std::vector<int> gather_types(LammpsSession &lmp)
{
  std::vector<int> types(static_cast<size_t>(lmp.natoms()));
  lammps_gather_atoms(lmp.lmp(), "type", 0, 1, types.data());
  return types;
}

// A per-atom property of atoms (x, f, sp, ...), a per-atom compute (c_ID) or fix (f_ID),
// ordered by atom ID. lammps_gather, unlike lammps_gather_atoms, knows computes; its
// errors are recorded by the library interface rather than thrown, so check them.
inline std::vector<double> gather_any(LammpsSession &lmp, const std::string &name, int count)
{
  std::vector<double> data(static_cast<size_t>(lmp.natoms()) * count);
  lammps_gather(lmp.lmp(), name.c_str(), 1, count, data.data());
  char message[512] = "";
  if (lammps_get_last_error_message(lmp.lmp(), message, sizeof message))
    throw std::runtime_error("lammps_gather(" + name + "): " + message);
  return data;
}

// fm: Atom::extract() of LAMMPS 4 Feb 2025 does not know "fm", so go through a compute
inline std::vector<double> gather_fm(LammpsSession &lmp)
{
  if (!lammps_has_id(lmp.lmp(), "compute", "mlspin_test_fm"))
    lmp.command("compute mlspin_test_fm all property/atom fmx fmy fmz");
  return gather_any(lmp, "c_mlspin_test_fm", 3);
}

// writes a per-atom property (x, sp, ...) ordered by atom ID, without any normalisation
inline void scatter(LammpsSession &lmp, const std::string &name, int count, std::vector<double> &data)
{
  lammps_scatter_atoms(lmp.lmp(), name.c_str(), 1, count, data.data());
}

// global virial W (energy units: xx yy zz xy xz yz) from the pressure tensor at zero
// kinetic energy: W = P V / nktv2p
inline std::array<double, 6> virial(LammpsSession &lmp)
{
  const double nktv2p = *static_cast<double *>(lammps_extract_global(lmp.lmp(), "nktv2p"));
  const double volume = lmp.thermo("vol");
  const char *keys[6] = {"pxx", "pyy", "pzz", "pxy", "pxz", "pyz"};
  std::array<double, 6> w{};
  for (int k = 0; k < 6; k++) w[k] = lmp.thermo(keys[k]) * volume / nktv2p;
  return w;
}

// element k (from 0) of a global vector computed by compute `id`
inline double compute_vector(LammpsSession &lmp, const std::string &id, int k)
{
  auto *v = static_cast<double *>(lammps_extract_compute(lmp.lmp(), id.c_str(), LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR));
  return v ? v[k] : NAN;
}

// A displaced lattice with random spins as a data file (atom_style spin/lattice).
// Atom IDs, positions, types and spins are fixed by the file, so that runs on any
// number of ranks see the same atoms (create_atoms numbers atoms per rank).
struct LatticeSpec {
  double a = 1.0;                                        // cubic lattice constant
  std::vector<std::array<double, 3>> basis = {{0, 0, 0}};    // in units of a
  int cells = 3;                                         // cells per direction
  double displacement = 0.0;                             // uniform in [-d, d] per component
  double type2_fraction = 0.0;                           // atoms of type 2 (2 types in the box)
  double mag_lo = 1.0, mag_hi = 1.0;                     // spin magnitudes, uniform
  bool triclinic = false;                                // zero tilts, so that they can be strained
  unsigned seed = 1;
};

inline std::string write_lattice_data(const std::string &name, const LatticeSpec &spec)
{
  const std::string path = scratch_dir() + "/" + name;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    std::mt19937_64 rng(spec.seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<double> gauss(0.0, 1.0);
    const double length = spec.a * spec.cells;
    const size_t natoms = spec.basis.size() * spec.cells * spec.cells * spec.cells;
    std::ofstream out(path);
    out.precision(17);
    out << "mlspin test lattice\n\n" << natoms << " atoms\n2 atom types\n\n";
    for (const char *d : {"x", "y", "z"}) out << "0 " << length << " " << d << "lo " << d << "hi\n";
    if (spec.triclinic) out << "0 0 0 xy xz yz\n";
    out << "\nMasses\n\n1 1.0\n2 1.0\n\nAtoms # spin/lattice\n\n";
    size_t id = 0;
    for (int i = 0; i < spec.cells; i++)
      for (int j = 0; j < spec.cells; j++)
        for (int k = 0; k < spec.cells; k++)
          for (const auto &b : spec.basis) {
            const int cell[3] = {i, j, k};
            double x[3], s[3], norm = 0.0;
            for (int c = 0; c < 3; c++) {
              x[c] = spec.a * (cell[c] + b[c]) + spec.displacement * (2.0 * uniform(rng) - 1.0);
              x[c] -= length * std::floor(x[c] / length);
              s[c] = gauss(rng);
              norm += s[c] * s[c];
            }
            const int type = uniform(rng) < spec.type2_fraction ? 2 : 1;
            const double mag = spec.mag_lo + (spec.mag_hi - spec.mag_lo) * uniform(rng);
            out << ++id << " " << type << " " << x[0] << " " << x[1] << " " << x[2] << " " << s[0] / std::sqrt(norm)
                << " " << s[1] / std::sqrt(norm) << " " << s[2] / std::sqrt(norm) << " " << mag << "\n";
          }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return path;
}

// max_k |a_k - b_k| / max_k |b_k|: a relative error on the scale of the whole array
inline double relative_error(const std::vector<double> &a, const std::vector<double> &b)
{
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double diff = 0.0, scale = 0.0;
  for (size_t k = 0; k < a.size(); k++) {
    diff = std::max(diff, std::fabs(a[k] - b[k]));
    scale = std::max(scale, std::fabs(b[k]));
  }
  return scale > 0.0 ? diff / scale : diff;
}

inline double relative_error(double a, double b)
{
  return std::fabs(a - b) / std::max(std::fabs(b), 1e-300);
}

}    // namespace mlspin_test
