// atom_style spin/lattice: data files, normalisation, errors, restart, hybrid, triclinic.
#include "lammps_session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using mlspin_test::LammpsSession;

namespace {

const char *kBox = R"(
units metal
atom_style spin/lattice
boundary p p p
)";

std::string write_data_file(const std::string &name, const std::string &atoms)
{
  const std::string path = mlspin_test::scratch_dir() + "/" + name;
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    std::ofstream out(path);
    out << "test data\n\n3 atoms\n1 atom types\n\n0 6 xlo xhi\n0 6 ylo yhi\n0 6 zlo zhi\n\n"
        << "Masses\n\n1 55.8\n\nAtoms # spin/lattice\n\n"
        << atoms;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return path;
}

}    // namespace

TEST(AtomStyleSpinLattice, ReadsDataFileAndNormalisesDirections)
{
  LammpsSession lmp;
  const auto path = write_data_file("norm.data",
                                    "1 1 0.5 0.5 0.5  3.0 0.0 4.0  2.2\n"
                                    "2 1 3.5 0.5 0.5  0.0 -2.0 0.0 1.0\n"
                                    "3 1 0.5 3.5 0.5  1.0 1.0 1.0  0.5\n");
  lmp.commands(kBox);
  lmp.command("read_data " + path);
  const auto sp = lmp.gather("sp", 4);
  const double expected[] = {0.6, 0.0, 0.8, 2.2, 0.0, -1.0, 0.0, 1.0, 1 / std::sqrt(3.0),
                             1 / std::sqrt(3.0), 1 / std::sqrt(3.0), 0.5};
  for (int k = 0; k < 12; k++) EXPECT_NEAR(sp[k], expected[k], 1e-15) << "component " << k;
}

TEST(AtomStyleSpinLattice, ZeroDirectionIsAnErrorNamingTheAtom)
{
  // error->one stops the rank owning the atom; run it serially
  if (mlspin_test::world_size() > 1) GTEST_SKIP() << "error->one is checked on one rank";
  LammpsSession lmp(MPI_COMM_SELF);
  const auto path = write_data_file("zero.data",
                                    "1 1 0.5 0.5 0.5  0 0 1  1.0\n"
                                    "2 1 3.5 0.5 0.5  0 0 0  1.0\n"
                                    "3 1 0.5 3.5 0.5  0 1 0  1.0\n");
  lmp.commands(kBox);
  const auto message = lmp.error_of("read_data " + path);
  EXPECT_NE(message.find("Atom 2 in the data file has spin direction (0 0 0)"), std::string::npos)
      << message;
}
