// One hbar for SPIN's styles and mlspin's (src/core/units.h: hplanck/(2 pi) in every
// unit style). Units metal: SPIN's pair_style spin/exchange and the equivalent mlspin
// Heisenberg model (make_test_models.py: E = -sum_pairs J(r) S_i.S_j with spin/exchange's
// J(r)) drive the same fix llg trajectory. Units lj, where SPIN's pair styles refuse to
// run: in one run, SPIN's fix precession/spin and the mlspin Heisenberg model make spins
// precess at the analytic frequencies of hbar = 1/(2 pi).
#include "lammps_session.h"
#include "pair_mlspin_testing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace mlspin_test;

namespace {

struct UnitCase {
  const char *units;
  double a, displacement, dt;    // lattice constant, random displacement, time step
  const char *cutoff;            // of spin/exchange, the model's
  const char *exchange_coeff;    // pair_coeff * * of spin/exchange
  const char *model_coeff;       // pair_coeff * * of pair_style mlspin
};

// the parameters of heisenberg.pt (Fe) in make_test_models.py
const UnitCase kCases[] = {
    {"metal", 2.5, 0.1, 2e-5, "3.5", "exchange 3.5 0.0446928 0.003496 1.4885", "heisenberg.pt Fe Fe"},
};

struct LLGRun {
  std::vector<double> sp0, sp;    // spins (direction, magnitude) before and after
  double pe = 0.0;
};

LLGRun run_llg(const UnitCase &c, const std::string &pair_style, const std::string &pair_coeff)
{
  LatticeSpec spec;
  spec.a = c.a;
  spec.cells = 4;
  spec.displacement = c.displacement;
  spec.seed = 1234;
  const auto data = write_lattice_data(std::string("exchange_") + c.units + ".data", spec);
  LammpsSession lmp;
  lmp.commands(std::string("units ") + c.units + "\natom_style spin/lattice\natom_modify map array\n" +
               "boundary p p p\nread_data " + data + "\n" + pair_style + "\npair_coeff * * " + pair_coeff +
               "\ntimestep " + std::to_string(c.dt) + "\nfix llg all llg alpha 0.1\nthermo_modify norm no\n");
  LLGRun r;
  r.sp0 = lmp.gather("sp", 4);
  lmp.command("run 200 post no");
  r.sp = lmp.gather("sp", 4);
  r.pe = lmp.thermo("pe");
  return r;
}

}    // namespace

class SpinExchangeParity : public ::testing::TestWithParam<UnitCase> {};

TEST_P(SpinExchangeParity, SameFixLLGTrajectoryAsTheMlspinHeisenbergModel)
{
  const auto &c = GetParam();
  const LLGRun spin = run_llg(c, std::string("pair_style spin/exchange ") + c.cutoff, c.exchange_coeff);
  const LLGRun ml = run_llg(c, "pair_style mlspin", model_file(c.model_coeff));
  ASSERT_EQ(spin.sp.size(), ml.sp.size());
  double diff = 0.0, moved = 0.0;
  for (size_t i = 0; i < spin.sp.size(); i += 4)
    for (int k = 0; k < 3; k++) {
      diff = std::max(diff, std::fabs(spin.sp[i + k] - ml.sp[i + k]));
      moved = std::max(moved, std::fabs(spin.sp[i + k] - spin.sp0[i + k]));
    }
  std::printf("  units %s: spins moved up to %.3f; max |s_spin/exchange - s_mlspin| after 200 steps %.2e; "
              "pe %.12g vs %.12g\n", c.units, moved, diff, spin.pe, ml.pe);
  EXPECT_GE(moved, 0.3) << "the trajectory must go somewhere for the comparison to mean anything";
  EXPECT_LE(diff, 1e-9);
  EXPECT_NEAR(spin.pe, ml.pe, 1e-9 * std::fabs(ml.pe));
}

INSTANTIATE_TEST_SUITE_P(PairMlspin, SpinExchangeParity, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<UnitCase> &info) { return std::string(info.param.units); });

// Units lj, alpha = 0. Atoms 1 and 2 (distance r, far from everything else) interact
// only through the mlspin model heisenberg_lj.pt, E = -J(r) S_1.S_2: both unit spins
// precess about the conserved M = s_1 + s_2 at w = J |M| / hbar. Atom 3 feels only
// SPIN's anisotropy E = -K (s.z)^2: it precesses about z at w = 2 K s_z / hbar. With
// hbar = 1/(2 pi) for both, both phases agree with the analytic ones.
TEST(PairMlspinUnitsLJ, SpinPrecessionAndMlspinModelPrecessWithTheSameHbar)
{
  if (world_size() > 1) GTEST_SKIP() << "an analytic check of one run; parity is tested in units metal";
  const double r = 1.2, K = 1.0, hbar = 1.0 / (2 * M_PI);
  const double ra = r * r, J = 4.0 * ra * (1.0 - 0.2 * ra) * std::exp(-ra);    // J1 = 1, J2 = 0.2, J3 = 1
  const double s1[3] = {1, 0, 0}, s2[3] = {0, 0.6, 0.8}, s3[3] = {0.8, 0, 0.6};
  const int steps = 4000;
  const double dt = 5e-5;
  LammpsSession lmp;
  lmp.commands(R"(
units lj
atom_style spin/lattice
atom_modify map array
boundary f f f
region box block -10 10 -10 10 -10 10
create_box 2 box
create_atoms 1 single 0 0 0
create_atoms 1 single 1.2 0 0
create_atoms 2 single 5 5 5
mass * 1.0
set atom 1 spin/atom 1.0 1 0 0
set atom 2 spin/atom 1.0 0 0.6 0.8
set atom 3 spin/atom 1.0 0.8 0 0.6
group far type 2
pair_style mlspin
fix 1 all llg alpha 0.0 integrator heun
)");
  lmp.command("pair_coeff * * " + model_file("heisenberg_lj.pt") + " A A");
  lmp.command("fix aniso far precession/spin anisotropy " + std::to_string(K) + " 0 0 1");
  char line[64];
  std::snprintf(line, sizeof line, "timestep %.17g", dt);
  lmp.command(line);
  lmp.command("run " + std::to_string(steps) + " post no");
  const auto sp = lmp.gather("sp", 4);
  const double t = steps * dt;

  // pair: rotation of s_1 about m = M/|M| by w t
  double M[3], norm = 0.0;
  for (int k = 0; k < 3; k++) norm += (M[k] = s1[k] + s2[k]) * (s1[k] + s2[k]);
  norm = std::sqrt(norm);
  const double m[3] = {M[0] / norm, M[1] / norm, M[2] / norm};
  const double angle_pair = J * norm / hbar * t;
  const double along = s1[0] * m[0] + s1[1] * m[1] + s1[2] * m[2];
  const double mxs[3] = {m[1] * s1[2] - m[2] * s1[1], m[2] * s1[0] - m[0] * s1[2], m[0] * s1[1] - m[1] * s1[0]};
  double pair_error = 0.0;
  for (int k = 0; k < 3; k++) {
    // ds/dt = w x s with w along M (SPIN's sign: ds/dt = fm x s, fm = J M / hbar)
    const double expected = along * m[k] + (s1[k] - along * m[k]) * std::cos(angle_pair) + mxs[k] * std::sin(angle_pair);
    pair_error = std::max(pair_error, std::fabs(sp[k] - expected));
  }
  // single spin under anisotropy: rotation about z by 2 K s_z t / hbar
  const double angle_aniso = 2.0 * K * s3[2] / hbar * t;
  const double expected3[3] = {s3[0] * std::cos(angle_aniso), s3[0] * std::sin(angle_aniso), s3[2]};
  double aniso_error = 0.0;
  for (int k = 0; k < 3; k++) aniso_error = std::max(aniso_error, std::fabs(sp[8 + k] - expected3[k]));
  std::printf("  mlspin pair rotated %.2f rad (error %.1e), precession/spin spin %.2f rad (error %.1e)\n",
              angle_pair, pair_error, angle_aniso, aniso_error);
  EXPECT_GE(angle_pair, 1.0);
  EXPECT_GE(angle_aniso, 1.0);
  EXPECT_LE(pair_error, 1e-6);
  EXPECT_LE(aniso_error, 1e-6);
}
