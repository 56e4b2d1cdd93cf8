// pair_style mlspin with a non-linear many-body model (make_test_models.py: pair,
// biquadratic, angular and three-spin chirality terms, smooth cutoff): fm, forces
// and the virial against central finite differences of the total energy, per-atom
// sums, and 1 vs 2 MPI ranks.
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

using namespace mlspin_test;

namespace {

// 64 atoms of two types on a displaced simple cubic lattice in a triclinic box (so that
// tilts can be strained), random spins with magnitudes between 0.5 and 2.5; units lj
// (hbar = 1/(2 pi), nktv2p = 1)
std::string data_file()
{
  LatticeSpec spec;
  spec.cells = 4;
  spec.displacement = 0.08;
  spec.type2_fraction = 0.4;
  spec.mag_lo = 0.5;
  spec.mag_hi = 2.5;
  spec.triclinic = true;
  spec.seed = 4321;
  return write_lattice_data("manybody.data", spec);
}

void setup(LammpsSession &lmp, const std::string &model, const std::string &data,
           const std::string &settings = "")
{
  lmp.commands("units lj\natom_style spin/lattice\natom_modify map array\nboundary p p p\nread_data " + data);
  lmp.command("pair_style mlspin " + settings);
  lmp.command("pair_coeff * * " + model_file(model) + " A B");
  lmp.command("thermo_style custom step pe pxx pyy pzz pxy pxz pyz vol lx ly lz");
  lmp.command("thermo_modify norm no");    // lj normalises pe by the number of atoms otherwise
}

double energy(LammpsSession &lmp)
{
  lmp.command("run 0 post no");
  return lmp.thermo("pe");
}

// central difference of the energy when one per-atom value is shifted by +-h
double energy_derivative(LammpsSession &lmp, const std::string &property, int count, size_t index, double h)
{
  auto data = lmp.gather(property, count);
  const double v0 = data[index];
  data[index] = v0 + h;
  scatter(lmp, property, count, data);
  const double ep = energy(lmp);
  data[index] = v0 - h;
  scatter(lmp, property, count, data);
  const double em = energy(lmp);
  data[index] = v0;
  scatter(lmp, property, count, data);
  return (ep - em) / (2.0 * h);
}

const size_t kAtoms[] = {0, 17, 38, 63};    // indices (atom ID - 1) checked by finite differences

}    // namespace

TEST(PairMLSpinManyBody, FieldsAreMinusTheEnergyGradientOverHbar)
{
  if (world_size() > 1) GTEST_SKIP() << "finite differences run serially; parity is tested on 2 ranks";
  // fm = -(1/hbar) dE/ds, s = sp[0..2] (the direction, here perturbed off the unit sphere
  // on purpose: the model sees S = s |S|, so all three components are checked)
  const auto data = data_file();
  LammpsSession lmp;
  setup(lmp, "manybody_aniso.pt", data);
  energy(lmp);
  const auto fm = gather_fm(lmp);
  const double scale = *std::max_element(fm.begin(), fm.end());
  const double hbar = 1.0 / (2 * M_PI);    // units lj: hplanck/(2 pi), as in SPIN
  double worst = 0.0;
  for (size_t i : kAtoms)
    for (int c = 0; c < 3; c++) {
      const double fd = -energy_derivative(lmp, "sp", 4, 4 * i + c, 1e-5) / hbar;
      worst = std::max(worst, std::fabs(fd - fm[3 * i + c]) / scale);
      EXPECT_NEAR(fm[3 * i + c], fd, 1e-8 * scale) << "atom " << i + 1 << " component " << c;
    }
  std::printf("  fm vs finite differences: max error %.2e of max |fm| = %.3g\n", worst, scale);
}

TEST(PairMLSpinManyBody, ForcesAreMinusTheEnergyGradient)
{
  if (world_size() > 1) GTEST_SKIP() << "finite differences run serially; parity is tested on 2 ranks";
  const auto data = data_file();
  LammpsSession lmp;
  setup(lmp, "manybody_aniso.pt", data);
  energy(lmp);
  const auto f = lmp.gather("f", 3);
  const double scale = *std::max_element(f.begin(), f.end());
  double worst = 0.0;
  for (size_t i : kAtoms)
    for (int c = 0; c < 3; c++) {
      const double fd = -energy_derivative(lmp, "x", 3, 3 * i + c, 1e-5);
      worst = std::max(worst, std::fabs(fd - f[3 * i + c]) / scale);
      EXPECT_NEAR(f[3 * i + c], fd, 1e-8 * scale) << "atom " << i + 1 << " component " << c;
    }
  std::printf("  forces vs finite differences: max error %.2e of max |f| = %.3g\n", worst, scale);
  // Newton's third law holds for the total force
  for (int c = 0; c < 3; c++) {
    double total = 0.0;
    for (size_t i = 0; i < f.size() / 3; i++) total += f[3 * i + c];
    EXPECT_NEAR(total, 0.0, 1e-12 * scale * f.size());
  }
}

TEST(PairMLSpinManyBody, VirialIsMinusTheStrainDerivative)
{
  if (world_size() > 1) GTEST_SKIP() << "finite differences run serially; parity is tested on 2 ranks";
  // W_ab = -dE/d(eps_ab) for the homogeneous strain r -> r + eps_ab r_b e_a; the model
  // depends on distances and angles only, so W is symmetric and W_ab = W_ba
  const auto data = data_file();
  LammpsSession lmp;
  setup(lmp, "manybody.pt", data);
  energy(lmp);
  const auto w = virial(lmp);
  const double l[3] = {lmp.thermo("lx"), lmp.thermo("ly"), lmp.thermo("lz")};
  const double h = 1e-5;
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  // energy with the box changed by `change(eps)`, then the original box restored
  auto strained = [&](const std::function<std::string(double)> &change, double eps) {
    lmp.command("change_box all " + change(eps) + " remap units box");
    const double e = energy(lmp);
    lmp.command("change_box all " + change(0.0) + " remap units box");
    return e;
  };
  const char *dims[3] = {"x", "y", "z"};
  const char *tilts[3] = {"xy", "xz", "yz"};
  const int tilt_height[3] = {1, 2, 2};    // xy tilts with y, xz and yz with z
  double worst = 0.0, scale = 0.0;
  for (int k = 0; k < 6; k++) scale = std::max(scale, std::fabs(w[k]));
  for (int k = 0; k < 6; k++) {
    std::function<std::string(double)> change;
    if (k < 3)
      change = [&, k](double eps) { return std::string(dims[k]) + " final 0 " + num(l[k] * (1.0 + eps)); };
    else
      change = [&, k](double eps) { return std::string(tilts[k - 3]) + " final " + num(eps * l[tilt_height[k - 3]]); };
    const double fd = -(strained(change, h) - strained(change, -h)) / (2.0 * h);
    worst = std::max(worst, std::fabs(fd - w[k]) / scale);
    EXPECT_NEAR(w[k], fd, 1e-8 * scale) << "virial component " << k;
  }
  std::printf("  virial vs finite differences: max error %.2e of max |W| = %.3g\n", worst, scale);
}

TEST(PairMLSpinManyBody, OneAndTwoRanksGiveTheSameResults)
{
  struct Result {
    double pe;
    std::vector<double> f, fm;
    std::array<double, 6> w;
  };
  const auto data = data_file();
  auto run = [&](MPI_Comm comm) {
    LammpsSession lmp(comm);
    setup(lmp, "manybody_aniso.pt", data);
    Result r;
    r.pe = energy(lmp);
    r.f = lmp.gather("f", 3);
    r.fm = gather_fm(lmp);
    r.w = virial(lmp);
    return r;
  };
  const auto serial = run(MPI_COMM_SELF);
  const auto parallel = run(MPI_COMM_WORLD);
  EXPECT_LT(relative_error(parallel.pe, serial.pe), 1e-10);
  EXPECT_LT(relative_error(parallel.f, serial.f), 1e-10);
  EXPECT_LT(relative_error(parallel.fm, serial.fm), 1e-10);
  EXPECT_LT(relative_error(std::vector<double>(parallel.w.begin(), parallel.w.end()),
                           std::vector<double>(serial.w.begin(), serial.w.end())),
            1e-10);
}

TEST(PairMLSpinManyBody, ChunkedEvaluationGivesTheSameResults)
{
  // centers in chunks of 10 (7 model calls per evaluation) instead of all at once
  const auto data = data_file();
  double pe[2];
  std::vector<double> f[2], fm[2];
  std::array<double, 6> w[2];
  int k = 0;
  for (const char *settings : {"", "chunk 10"}) {
    LammpsSession lmp;
    setup(lmp, "manybody_aniso.pt", data, settings);
    pe[k] = energy(lmp);
    f[k] = lmp.gather("f", 3);
    fm[k] = gather_fm(lmp);
    w[k] = virial(lmp);
    k++;
  }
  EXPECT_LT(relative_error(pe[1], pe[0]), 1e-12);
  EXPECT_LT(relative_error(f[1], f[0]), 1e-12);
  EXPECT_LT(relative_error(fm[1], fm[0]), 1e-12);
  EXPECT_LT(relative_error(std::vector<double>(w[1].begin(), w[1].end()), std::vector<double>(w[0].begin(), w[0].end())),
            1e-12);
}
