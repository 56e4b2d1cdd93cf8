// pair_style mlspin keyword native: the native lattice-descriptor path against the
// TorchScript path (native no) on square and triangular lattices, periodic and with an
// open border (partial stencils), test and shipped models; chunks; float32; the
// descriptor's error through LAMMPS; 1 vs 2 MPI ranks with native on.
#include "core/bf16_gemm.h"
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include "../expect_contains.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <string>

using namespace mlspin_test;

namespace {

// An L1 x L2 lattice in the xy plane (a = 1; triangular: a triclinic box), random spin
// directions and magnitudes 0.7..1.3; periodic in y, and in x unless `open_x`.
std::string lattice_system(const std::string &lattice, int L1, int L2, bool open_x, unsigned seed)
{
  const bool tri = lattice == "triangular";
  const double h = tri ? std::sqrt(3.0) / 2.0 : 1.0;
  const std::string path = scratch_dir() + "/" + lattice + "_" + std::to_string(L1) + "x" + std::to_string(L2) +
      (open_x ? "_open" : "") + "_" + std::to_string(seed) + ".data";
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::normal_distribution<double> gauss(0.0, 1.0);
    std::ofstream out(path);
    out.precision(17);
    // an open x border: the box reaches half a spacing beyond the atoms
    const double xlo = open_x ? -0.5 : 0.0, xhi = open_x ? L1 - 0.5 : L1;
    out << "mlspin native test lattice\n\n" << L1 * L2 << " atoms\n1 atom types\n\n";
    out << xlo << " " << xhi << " xlo xhi\n0 " << h * L2 << " ylo yhi\n-0.5 0.5 zlo zhi\n";
    if (tri) out << 0.5 * L2 << " 0 0 xy xz yz\n";
    out << "\nMasses\n\n1 1.0\n\nAtoms # spin/lattice\n\n";
    int id = 0;
    for (int j = 0; j < L2; j++)
      for (int i = 0; i < L1; i++) {
        double s[3], norm = 0.0;
        for (double &c : s) {
          c = gauss(rng);
          norm += c * c;
        }
        const double mag = 0.7 + 0.6 * uniform(rng);
        out << ++id << " 1 " << i + (tri ? 0.5 * j : 0.0) << " " << h * j << " 0 " << s[0] / std::sqrt(norm) << " "
            << s[1] / std::sqrt(norm) << " " << s[2] / std::sqrt(norm) << " " << mag << "\n";
      }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return std::string("units lj\natom_style spin/lattice\natom_modify map array\nboundary ") + (open_x ? "f" : "p") +
      " p f\nread_data " + path + "\n";
}

struct Result {
  double pe = 0.0;
  std::vector<double> fm, eatom;
};

// pair_style mlspin <keywords>, pair_coeff * * <model> site; run 0
Result evaluate(const std::string &system, const std::string &model, const std::string &keywords,
                MPI_Comm comm = MPI_COMM_WORLD)
{
  LammpsSession lmp(comm);
  lmp.commands(system);
  lmp.command("pair_style mlspin forces no " + keywords);
  lmp.command("pair_coeff * * " + model + " site");
  lmp.commands("compute peatom all pe/atom\nthermo_style custom step pe\nrun 0 post no");
  Result r;
  r.pe = lmp.thermo("pe");
  r.fm = gather_fm(lmp);
  r.eatom = gather_any(lmp, "c_peatom", 1);
  return r;
}

// a shipped potential's file: model.pt (float32) or its float64 twin shipped beside it
std::string shipped(const std::string &name, const std::string &file = "model.pt")
{
  return std::string(MLSPIN_POTENTIALS) + "/" + name + "/" + file;
}

// energies and fields of native yes and no to round-off (1e-12 of their scale)
void expect_native_matches_torchscript(const std::string &system, const std::string &model, double rel = 1e-12)
{
  const Result native = evaluate(system, model, "native yes");
  const Result script = evaluate(system, model, "native no");
  EXPECT_LT(relative_error(native.eatom, script.eatom), rel);
  EXPECT_LT(relative_error(native.fm, script.fm), rel);
  EXPECT_LT(std::fabs(native.pe - script.pe), rel * std::fabs(script.pe));
}

}    // namespace

/* ---------------------------------------------------------------------- */

TEST(PairMLSpinNative, TriangularTestModelPeriodicAndOpen)
{
  expect_native_matches_torchscript(lattice_system("triangular", 9, 8, false, 1), model_file("lattice_triangular.pt"));
  expect_native_matches_torchscript(lattice_system("triangular", 9, 8, true, 2), model_file("lattice_triangular.pt"));
}

TEST(PairMLSpinNative, SquareTestModelWithAnOpenBorder)
{
  expect_native_matches_torchscript(lattice_system("square", 9, 7, true, 3), model_file("lattice_square.pt"));
}

TEST(PairMLSpinNative, ShippedPotentials)
{
  expect_native_matches_torchscript(lattice_system("triangular", 12, 12, true, 4),
                                    shipped("triangular_chiral", "model_float64.pt"));
  expect_native_matches_torchscript(lattice_system("square", 12, 12, false, 5),
                                    shipped("square_double_exchange", "model_float64.pt"));
  // the float32 model.pt files: float32 sums in another order (test_native_lattice.cpp)
  expect_native_matches_torchscript(lattice_system("triangular", 12, 12, true, 4), shipped("triangular_chiral"), 1.2e-4);
  expect_native_matches_torchscript(lattice_system("square", 12, 12, false, 5), shipped("square_double_exchange"),
                                    1.2e-4);
}

// centers passed in chunks of 7 (partial blocks and slices everywhere) vs all at once
TEST(PairMLSpinNative, ChunksDoNotChangeTheResults)
{
  const std::string system = lattice_system("square", 10, 9, true, 6);
  const Result all = evaluate(system, model_file("lattice_square.pt"), "native yes chunk 0");
  const Result chunked = evaluate(system, model_file("lattice_square.pt"), "native yes chunk 7");
  EXPECT_LT(relative_error(chunked.eatom, all.eatom), 1e-12);
  EXPECT_LT(relative_error(chunked.fm, all.fm), 1e-12);
}

TEST(PairMLSpinNative, TwoThreadsGiveTheSameResults)
{
  const std::string system = lattice_system("triangular", 10, 9, true, 11);
  const Result one = evaluate(system, model_file("lattice_triangular.pt"), "native yes threads 1");
  const Result two = evaluate(system, model_file("lattice_triangular.pt"), "native yes threads 2");
  EXPECT_LT(relative_error(two.eatom, one.eatom), 1e-12);
  EXPECT_LT(relative_error(two.fm, one.fm), 1e-12);
}

// float32 against float64 (same weights): see test_native_lattice.cpp for the tolerance
TEST(PairMLSpinNative, Float32ModelAgreesToSinglePrecision)
{
  const std::string system = lattice_system("square", 9, 9, false, 7);
  const Result f64 = evaluate(system, model_file("lattice_square.pt"), "native yes");
  const Result f32 = evaluate(system, model_file("lattice_square_f32.pt"), "native yes");
  EXPECT_LT(relative_error(f32.eatom, f64.eatom), 5e-5);
  EXPECT_LT(relative_error(f32.fm, f64.fm), 5e-5);
}

// an atom off the lattice: the descriptor's message, whichever path
TEST(PairMLSpinNative, OffLatticeAtomIsAnError)
{
  const std::string system = lattice_system("square", 6, 6, false, 8) + "set atom 8 x 1.3\n";
  for (const char *native : {"yes", "no"}) {
    LammpsSession lmp;
    lmp.commands(system);
    lmp.command(std::string("pair_style mlspin forces no native ") + native);
    lmp.command("pair_coeff * * " + model_file("lattice_square.pt") + " site");
    EXPECT_CONTAINS(lmp.error_of("run 0 post no"), "is not a vector of the model's square lattice (off by");
  }
}

TEST(PairMLSpinNative, NativeKeywordNeedsYesOrNo)
{
  LammpsSession lmp;
  lmp.commands(lattice_system("square", 4, 4, false, 9));
  EXPECT_CONTAINS(lmp.error_of("pair_style mlspin native maybe"), "maybe");
}

TEST(PairMLSpinNative, OneAndTwoRanksGiveTheSameResults)
{
  const std::string system = lattice_system("triangular", 12, 10, true, 10);
  const std::string model = shipped("triangular_chiral", "model_float64.pt");  // float64
  const Result serial = evaluate(system, model, "native yes", MPI_COMM_SELF);
  const Result parallel = evaluate(system, model, "native yes", MPI_COMM_WORLD);
  EXPECT_LT(relative_error(parallel.eatom, serial.eatom), 1e-10);
  EXPECT_LT(relative_error(parallel.fm, serial.fm), 1e-10);
  EXPECT_LT(std::fabs(parallel.pe - serial.pe), 1e-10 * std::fabs(serial.pe));
}

// bf16 yes: float32 models with the first layer in bfloat16 (test_native_lattice.cpp
// gives the tolerance), the same on 1 and 2 ranks (every center's sums run in one
// order, whatever the partition); float64 models ignore it with a warning
TEST(PairMLSpinNative, Bf16FirstLayer)
{
  if (!mlspin::bf16::supported()) GTEST_SKIP() << "the CPU has no AVX512-BF16";
  const std::string system = lattice_system("square", 12, 10, true, 11);
  const std::string model = shipped("square_double_exchange");
  const Result f32 = evaluate(system, model, "native yes");
  const Result serial = evaluate(system, model, "native yes bf16 yes", MPI_COMM_SELF);
  const Result parallel = evaluate(system, model, "native yes bf16 yes", MPI_COMM_WORLD);
  EXPECT_LT(relative_error(serial.fm, f32.fm), 1e-2);
  EXPECT_GT(relative_error(serial.fm, f32.fm), 0.0);
  EXPECT_LT(relative_error(parallel.fm, serial.fm), 1e-6);
  EXPECT_LT(relative_error(parallel.eatom, serial.eatom), 1e-6);
  const std::string f64 = shipped("square_double_exchange", "model_float64.pt");
  EXPECT_EQ(evaluate(system, f64, "bf16 yes", MPI_COMM_SELF).fm, evaluate(system, f64, "bf16 no", MPI_COMM_SELF).fm);
}
