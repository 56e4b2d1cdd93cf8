// Conservation laws of the core LLG integrators: spin length, energy at alpha = 0,
// total spin for isotropic exchange.
#include "core/llg.h"
#include "core/thermal_noise.h"
#include "spin_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace mlspin;
using mlspin_test::HeisenbergRing;

namespace {

class EachScheme : public ::testing::TestWithParam<LLGScheme> {};

// Integrates the ring and records (energy drift slope, largest energy error).
struct EnergyRecord {
  double max_error = 0.0;
  double early_mean = 0.0, late_mean = 0.0;    // mean energy error over first / last tenth
  double early_max = 0.0, late_max = 0.0;      // largest |error| over first / last tenth
};

EnergyRecord energy_record(LLGScheme scheme, const HeisenbergRing &model, double dt, double t_end)
{
  auto integrator = make_llg_integrator(scheme, {0.0, LLGForm::Gilbert});
  auto s = mlspin_test::scattered_spins(12);
  const double e0 = model.energy(s);
  std::vector<Vec3> w;
  const auto fields = model.field_function();
  const long steps = std::lround(t_end / dt);
  const long tenth = steps / 10;
  EnergyRecord rec;
  for (long n = 1; n <= steps; ++n) {
    fields(s, w);
    integrator->step(s, w, {}, dt, fields);
    const double err = model.energy(s) - e0;
    rec.max_error = std::max(rec.max_error, std::fabs(err));
    if (n <= tenth) {
      rec.early_mean += err / tenth;
      rec.early_max = std::max(rec.early_max, std::fabs(err));
    }
    if (n > steps - tenth) {
      rec.late_mean += err / tenth;
      rec.late_max = std::max(rec.late_max, std::fabs(err));
    }
  }
  return rec;
}

}    // namespace

TEST_P(EachScheme, SpinLengthExactOverHundredThousandNoisySteps)
{
  HeisenbergRing model;
  model.K = 0.3;
  model.h = {0.2, 0.0, 0.5};
  auto integrator = make_llg_integrator(GetParam(), {0.1, LLGForm::Gilbert});
  auto s = mlspin_test::scattered_spins(8);
  std::vector<Vec3> w, noise(s.size());
  const double sigma = thermal_noise_sigma(0.1, 0.5, 1.0, 0.01, LLGForm::Gilbert);
  double worst = 0.0;
  for (long n = 0; n < 100000; ++n) {
    for (size_t i = 0; i < s.size(); ++i) noise[i] = sigma * gaussian3(7, i, n);
    model.fields(s, w);
    integrator->step(s, w, noise, 0.01, model.field_function());
    for (const auto &si : s) worst = std::max(worst, std::fabs(norm(si) - 1.0));
  }
  std::printf("  [%s] max | |s| - 1 | over 1e5 steps: %.2e\n", to_string(GetParam()).c_str(), worst);
  EXPECT_LE(worst, 1e-12);
}

TEST_P(EachScheme, EnergyErrorVanishesAsDtSquared)
{
  HeisenbergRing model;
  model.K = 0.4;
  model.h = {0.3, 0.0, 0.2};
  const auto coarse = energy_record(GetParam(), model, 0.02, 20.0);
  const auto fine = energy_record(GetParam(), model, 0.01, 20.0);
  const double order = std::log2(coarse.max_error / fine.max_error);
  std::printf("  [%s] max |E - E0| up to t=20: dt=0.02 %.3e, dt=0.01 %.3e, order %.2f\n",
              to_string(GetParam()).c_str(), coarse.max_error, fine.max_error, order);
  // the midpoint-type schemes have a pure O(dt^2) error; the explicit ones at least that
  if (GetParam() == LLGScheme::SemiImplicitB || GetParam() == LLGScheme::Midpoint)
    EXPECT_NEAR(order, 2.0, 0.3);
  else
    EXPECT_GE(order, 1.8);
}

// The spherical midpoint scheme is symplectic: its energy error stays bounded, so the
// error late in a long run is no larger than early in the run (a drifting scheme, like
// sib here, ends 30 times higher).
TEST(Midpoint, NoEnergyDriftOverLongRuns)
{
  HeisenbergRing model;
  model.K = 0.4;
  model.h = {0.3, 0.0, 0.2};
  for (const double dt : {0.04, 0.02}) {
    const auto rec = energy_record(LLGScheme::Midpoint, model, dt, 2000.0);
    const double drift = rec.late_mean - rec.early_mean;
    std::printf("  [midpoint] dt=%.2f, t=2000: max |E-E0| first tenth %.3e, last tenth %.3e; mean "
                "error first tenth %.3e, last tenth %.3e\n",
                dt, rec.early_max, rec.late_max, rec.early_mean, rec.late_mean);
    EXPECT_LE(rec.late_max, 2.0 * rec.early_max);
    EXPECT_LE(std::fabs(drift), rec.early_max);
  }
}

// Mentink's one-corrector scheme approximates the midpoint rule to O(dt^3) per step:
// it drifts, but the drift over a fixed time vanishes as dt^3, faster than its O(dt^2)
// bounded error, so at small dt the energy is conserved for practical run lengths.
TEST(SemiImplicitB, EnergyDriftVanishesAsDtCubed)
{
  HeisenbergRing model;
  model.K = 0.4;
  model.h = {0.3, 0.0, 0.2};
  const auto coarse = energy_record(LLGScheme::SemiImplicitB, model, 0.02, 2000.0);
  const auto fine = energy_record(LLGScheme::SemiImplicitB, model, 0.01, 2000.0);
  const double drift_coarse = coarse.late_mean - coarse.early_mean;
  const double drift_fine = fine.late_mean - fine.early_mean;
  std::printf("  [sib] energy drift over t=2000: dt=0.02 %.3e, dt=0.01 %.3e, order %.2f\n", drift_coarse,
              drift_fine, std::log2(drift_coarse / drift_fine));
  EXPECT_GE(std::log2(drift_coarse / drift_fine), 2.7);
}

TEST_P(EachScheme, TotalSpinConservedForIsotropicExchange)
{
  HeisenbergRing model;    // J only: invariant under global rotations
  auto run = [&](double dt) {
    auto integrator = make_llg_integrator(GetParam(), {0.0, LLGForm::Gilbert});
    auto s = mlspin_test::scattered_spins(10);
    Vec3 m0;
    for (const auto &si : s) m0 += si;
    std::vector<Vec3> w;
    double worst = 0.0;
    for (long n = 0; n < std::lround(10.0 / dt); ++n) {
      model.fields(s, w);
      integrator->step(s, w, {}, dt, model.field_function());
      Vec3 m;
      for (const auto &si : s) m += si;
      worst = std::max(worst, norm(m - m0));
    }
    return worst;
  };
  const double coarse = run(0.02), fine = run(0.01);
  std::printf("  [%s] max |M - M0|: dt=0.02 %.3e, dt=0.01 %.3e\n", to_string(GetParam()).c_str(), coarse,
              fine);
  EXPECT_LE(fine, 1e-3);
  EXPECT_GE(std::log2(coarse / fine), 1.7);    // vanishes as dt -> 0 (second order)
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, EachScheme,
                         ::testing::Values(LLGScheme::SemiImplicitB, LLGScheme::DepondtMertens,
                                           LLGScheme::Heun, LLGScheme::Midpoint),
                         [](const auto &info) { return to_string(info.param); });
