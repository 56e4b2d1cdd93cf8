// The chemical-potential solver of canonical electrons (core/canonical_solve) on
// analytic electron numbers: convergence to the closed-form mu, bracketing of
// overshooting Newton steps, the reduce callback, and every failure.
#include "core/canonical_solve.h"

#include "../expect_contains.h"
#include "error_of.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace mlspin;

namespace {

// N_sites sites with two levels -+J each at temperature kT:
// N_e(mu) = N_sites [f(-J - mu) + f(J - mu)], f(x) = 1/(1 + exp(x/kT))
struct TwoLevels {
  double sites = 100.0, J = 1.0, kT = 0.25;
  int calls = 0;
  ElectronCount operator()(double mu)
  {
    calls++;
    ElectronCount c;
    for (double level : {-J, J}) {
      const double f = 1.0 / (1.0 + std::exp((level - mu) / kT));
      c.electrons += sites * f;
      c.slope += sites * f * (1.0 - f) / kT;
    }
    return c;
  }
  // closed form: with x = exp(mu/kT), a = exp(J/kT), n = N_e/N_sites,
  // (2 - n) x^2 + (a + 1/a)(1 - n) x - n = 0
  double exact_mu(double n_e) const
  {
    const double n = n_e / sites, s = std::exp(J / kT) + std::exp(-J / kT);
    const double x = (-s * (1.0 - n) + std::sqrt(s * s * (1.0 - n) * (1.0 - n) + 4.0 * n * (2.0 - n))) / (2.0 * (2.0 - n));
    return kT * std::log(x);
}
};

}    // namespace

TEST(CanonicalSolve, ConvergesToTheClosedFormFromAnyStart)
{
  for (double filling : {0.05, 0.3, 0.5, 0.77, 0.95})
    for (double start : {-5.0, -1.0, 0.0, 0.4, 3.0, 100.0, std::nan("")}) {
      TwoLevels model;
      const double target = 2.0 * filling * model.sites;
      const auto s = solve_chemical_potential(std::ref(model), no_reduction, target, start, -5.0, 5.0);
      EXPECT_LE(std::fabs(s.count.electrons - target), 1e-11 * target) << filling << " " << start;
      EXPECT_NEAR(s.mu, model.exact_mu(target), 1e-9) << filling << " " << start;
      EXPECT_EQ(s.evaluations, model.calls);
      EXPECT_LT(s.evaluations, 30) << filling << " " << start;
    }
}

TEST(CanonicalSolve, WarmStartNeedsFewEvaluations)
{
  TwoLevels model;
  const double target = 2.0 * 0.4 * model.sites;
  const double mu = model.exact_mu(target);
  const auto s = solve_chemical_potential(std::ref(model), no_reduction, target, mu + 1e-3, -5.0, 5.0);
  EXPECT_LE(s.evaluations, 3);    // Newton: 1e-3 -> ~1e-6 -> ~1e-12
  const auto exact = solve_chemical_potential(std::ref(model), no_reduction, target, s.mu, -5.0, 5.0);
  EXPECT_EQ(exact.evaluations, 1);    // already converged: one evaluation to confirm
  EXPECT_EQ(exact.mu, s.mu);
}

TEST(CanonicalSolve, BracketsOvershootingNewtonSteps)
{
  // N_e = 100 (1 + tanh(mu)^3): Newton from the flat regions and across the inflection
  // point jumps far outside; the bracket keeps the iteration inside the range
  int calls = 0;
  auto steep = [&calls](double mu) {
    calls++;
    const double t = std::tanh(mu);
    return ElectronCount{100.0 * (1.0 + t * t * t), 300.0 * t * t * (1.0 - t * t)};
  };
  for (double target : {20.0, 100.0 + 1e-3, 199.0})
    for (double start : {-3.0, 0.0, 0.01, 2.5}) {
      const auto s = solve_chemical_potential(steep, no_reduction, target, start, -4.0, 4.0);
      EXPECT_LE(std::fabs(s.count.electrons - target), 1e-11 * target) << target << " " << start;
      const double exact = std::atanh(std::cbrt(target / 100.0 - 1.0));
      EXPECT_NEAR(s.mu, exact, 1e-8) << target << " " << start;
      EXPECT_GE(s.mu, -4.0);
      EXPECT_LE(s.mu, 4.0);
    }
}

TEST(CanonicalSolve, SumsThePartsOfEveryRankThroughTheReduceCallback)
{
  // two "ranks" with half the sites each: count() gives one half, reduce() adds the other
  TwoLevels half;
  half.sites = 50.0;
  int reductions = 0;
  auto reduce = [&half, &reductions](double *values, int n) {
    ASSERT_EQ(n, 2);
    reductions++;
    for (int k = 0; k < n; k++) values[k] *= 2.0;    // the other rank holds an identical half
  };
  TwoLevels whole;
  const double target = 2.0 * 0.3 * whole.sites;
  const auto s = solve_chemical_potential(std::ref(half), reduce, target, 0.0, -5.0, 5.0);
  EXPECT_EQ(reductions, s.evaluations);
  EXPECT_NEAR(s.mu, whole.exact_mu(target), 1e-9);
  EXPECT_NEAR(s.count.electrons, target, 1e-11 * target);
}

TEST(CanonicalSolve, SpeculativeFullEvaluationReplacesTheConfirmingCount)
{
  TwoLevels model;
  const double target = 2.0 * 0.4 * model.sites;
  const double exact = model.exact_mu(target);
  CanonicalSolveOptions hinted;    // d2N/dmu2 at the solution, as an earlier solve would give
  const double h = 1e-4;
  hinted.curvature_hint = (model(exact + h).slope - model(exact - h).slope) / (2 * h);
  for (double offset : {1e-2, 1e-4, 1e-6}) {
    TwoLevels counted, plain;
    int full = 0, discarded = 0;
    Speculation speculation{[&](double mu) {
                              full++;
                              return model(mu).electrons;
                            },
                            [&] { discarded++; }};
    const auto s = solve_chemical_potential(std::ref(counted), no_reduction, target, exact + offset, -5.0, 5.0,
                                            hinted, &speculation);
    const auto without = solve_chemical_potential(std::ref(plain), no_reduction, target, exact + offset, -5.0, 5.0);
    EXPECT_TRUE(s.evaluated) << offset;
    EXPECT_EQ(full, 1) << offset;
    EXPECT_EQ(discarded, 0) << offset;
    EXPECT_LE(std::fabs(s.count.electrons - target), 1e-11 * target) << offset;
    EXPECT_NEAR(s.mu, exact, 1e-9);
    // the full evaluation took the place of the count that confirms the last Newton step
    EXPECT_EQ(counted.calls + full, without.evaluations) << offset;
  }
  // a full evaluation that misses (here: a wrong N_e) is discarded, and counting goes on
  TwoLevels counted;
  int discarded = 0;
  Speculation liar{[&](double mu) { return model(mu).electrons + 1e-6 * target; }, [&] { discarded++; }};
  const auto s = solve_chemical_potential(std::ref(counted), no_reduction, target, exact + 1e-4, -5.0, 5.0, hinted,
                                          &liar);
  EXPECT_FALSE(s.evaluated);
  EXPECT_GE(discarded, 1);
  EXPECT_EQ(s.missed, discarded);
  EXPECT_LE(std::fabs(s.count.electrons - target), 1e-11 * target);
  EXPECT_NEAR(s.curvature, hinted.curvature_hint, 1e-3 * std::fabs(hinted.curvature_hint));    // re-estimated
}

TEST(CanonicalSolve, ReportsAnUnreachableTargetWithTheEndsOfTheRange)
{
  TwoLevels model;
  const double n_lo = model(-1.0).electrons, n_hi = model(1.0).electrons;
  for (double target : {0.5 * n_lo, 1.5 * n_hi - 0.5 * n_lo, std::min(200.0 - 1e-9, 2.0 * n_hi)})
    for (double start : {-1.0, 0.0, 1.0}) {
      try {
        solve_chemical_potential(std::ref(model), no_reduction, target, start, -1.0, 1.0);
        ADD_FAILURE() << "no error for target " << target;
      } catch (const UnreachableElectronNumber &e) {
        EXPECT_DOUBLE_EQ(e.electrons_at_lo, n_lo);
        EXPECT_DOUBLE_EQ(e.electrons_at_hi, n_hi);
        EXPECT_CONTAINS(std::string(e.what()), "is outside the range N_e(-1) = ");
      }
    }
}

TEST(CanonicalSolve, ReportsAJumpNonConvergenceAndNonFiniteCounts)
{
  // a step: N_e jumps from 10 to 20 at mu = 0.3 (zero temperature, one level)
  auto step = [](double mu) { return ElectronCount{mu < 0.3 ? 10.0 : 20.0, 0.0}; };
  EXPECT_CONTAINS(error_of([&] { solve_chemical_potential(step, no_reduction, 15.0, 0.0, -1.0, 1.0); }),
                  "N_e(mu) jumps over the target 15 between mu = ");

  TwoLevels model;
  CanonicalSolveOptions few;
  few.max_evaluations = 2;
  EXPECT_CONTAINS(error_of([&] { solve_chemical_potential(std::ref(model), no_reduction, 60.0, -4.0, -5.0, 5.0, few); }),
                  "no convergence after 2 evaluations: N_e = ");

  auto nan = [](double) { return ElectronCount{NAN, 1.0}; };
  EXPECT_CONTAINS(error_of([&] { solve_chemical_potential(nan, no_reduction, 15.0, 0.0, -1.0, 1.0); }),
                  "the electron number at mu = 0 is not finite");
  EXPECT_CONTAINS(error_of([&] { solve_chemical_potential(nan, no_reduction, 15.0, 0.0, 1.0, 1.0); }),
                  "the chemical potential range [1, 1] is empty");
}

TEST(ChemicalPotentialPredictor, ExtrapolatesSmoothSequencesAndFallsBackUnderNoise)
{
  ChemicalPotentialPredictor smooth;
  EXPECT_TRUE(smooth.empty());
  EXPECT_TRUE(std::isnan(smooth.predict()));
  auto quadratic = [](int n) { return 0.3 - 0.02 * n + 0.001 * n * n; };
  for (int n = 0; n < 5; n++) smooth.record(quadratic(n));
  EXPECT_EQ(smooth.order(), 2);
  EXPECT_NEAR(smooth.predict(), quadratic(5), 1e-15);

  // two interleaved smooth sequences (two integrator stages per step): stride 2
  ChemicalPotentialPredictor stages;
  auto staged = [&](int n) { return quadratic(n) + (n % 2 ? 0.05 : 0.0); };
  for (int n = 0; n < 9; n++) stages.record(staged(n));
  EXPECT_EQ(stages.stride(), 2);
  EXPECT_EQ(stages.order(), 2);
  EXPECT_NEAR(stages.predict(), staged(9), 1e-15);

  // two alternating constant stages: the value two back
  ChemicalPotentialPredictor alternating;
  for (int n = 0; n < 6; n++) alternating.record(n % 2 ? 0.1 : -0.1);
  EXPECT_EQ(alternating.order(), 0);
  EXPECT_EQ(alternating.stride(), 2);
  EXPECT_EQ(alternating.predict(), -0.1);

  // restart state round trip; after a jump only the last value is used
  double state[ChemicalPotentialPredictor::kStateSize];
  smooth.save(state);
  ChemicalPotentialPredictor copy;
  copy.load(state);
  EXPECT_EQ(copy.predict(), smooth.predict());
  copy.keep_last_only();
  EXPECT_EQ(copy.order(), 0);
  EXPECT_EQ(copy.predict(), quadratic(4));
}
