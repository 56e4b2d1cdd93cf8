// One hbar with LAMMPS' SPIN package in every unit style (src/core/units.h): fix llg's
// thermal noise and the fields of SPIN's fix precession/spin must use the same
// hbar = hplanck/(2 pi), also in units lj where that is 1/(2 pi). If they did not, the
// spins would thermalise at a temperature off by the ratio of the two hbars.
#include "lammps_session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using mlspin_test::LammpsSession;

namespace {

// <c^2> for the density exp(a c^2) on [-1, 1] (Boltzmann weight of E = -K c^2, a = K/kT,
// on the unit sphere, c = cos theta), by Simpson integration
double boltzmann_mean_c2(double a)
{
  const int m = 2000;
  const double h = 1.0 / m;
  double num = 0.0, den = 0.0;
  for (int k = 0; k <= m; ++k) {
    const double c = k * h, w = (k == 0 || k == m) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    num += w * c * c * std::exp(a * c * c);
    den += w * std::exp(a * c * c);
  }
  return num / den;
}

}    // namespace

// Independent spins under SPIN's uniaxial anisotropy E = -K (s.z)^2, thermalised by
// fix llg in units lj. Each spin's time average of s_z^2 is one sample; the error bar
// is the spread over spins, so time correlations do not fake precision.
TEST(SpinUnits, PrecessionSpinAnisotropyThermalisesAtTheBoltzmannValueInUnitsLJ)
{
  if (mlspin_test::world_size() > 1) GTEST_SKIP() << "statistics are checked on one rank";
  const double K = 1.0, kT = 0.5;
  const int spins = 400, equilibration = 400, samples = 2000, every = 10;
  LammpsSession lmp;
  lmp.commands(R"(
units lj
atom_style spin/lattice
atom_modify map array
boundary p p p
lattice sc 1.0
region box block 0 20 0 20 0 1
create_box 1 box
create_atoms 1 box
mass 1 1.0
set group all spin/atom/random 4711 1.0
pair_style zero 0.5
pair_coeff * *
)");
  // dt = 0.005 hbar/K, as in the core Boltzmann test
  lmp.command("timestep " + std::to_string(0.005 / K / (2 * M_PI)));
  lmp.command("fix aniso all precession/spin anisotropy " + std::to_string(K) + " 0 0 1");
  lmp.command("fix llg all llg alpha 0.5 temp " + std::to_string(kT) + " seed 2718");
  lmp.command("run " + std::to_string(equilibration) + " post no");
  lmp.commands(R"(
reset_timestep 0
compute dir all property/atom spz
variable c2 atom c_dir*c_dir
)");
  // averages over steps every, 2 every, ..., every * samples, reported at the last
  lmp.command("fix avg all ave/atom " + std::to_string(every) + " " + std::to_string(samples) + " " +
              std::to_string(every * samples) + " v_c2");
  lmp.command("run " + std::to_string(every * samples) + " post no");
  ASSERT_EQ(lmp.natoms(), spins);

  const auto per_spin = lmp.gather("f_avg", 1);
  double mean = 0.0, sq = 0.0;
  for (double v : per_spin) {
    mean += v / spins;
    sq += v * v / spins;
  }
  const double se = std::sqrt((sq - mean * mean) / (spins - 1));
  const double expected = boltzmann_mean_c2(K / kT);
  std::printf("  <s_z^2> = %.4f +- %.4f, Boltzmann %.4f (%.1f SE)\n", mean, se, expected, (mean - expected) / se);
  EXPECT_LE(std::fabs(mean - expected), 3.0 * se);
}
