// Conservation laws of the core LLG integrators: spin length, energy at alpha = 0,
// total spin for isotropic exchange, the symplectic form (midpoint).
#include "core/error.h"
#include "core/llg.h"
#include "core/thermal_noise.h"
#include "spin_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

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
  if (GetParam() == LLGScheme::Midpoint) {    // conserved exactly (see Midpoint.ConservesTotalSpin...)
    EXPECT_LE(coarse, 1e-12);
    EXPECT_LE(fine, 1e-12);
  } else {
    EXPECT_GE(std::log2(coarse / fine), 1.7);    // vanishes as dt -> 0 (second order)
  }
}

INSTANTIATE_TEST_SUITE_P(AllSchemes, EachScheme,
                         ::testing::Values(LLGScheme::SemiImplicitB, LLGScheme::DepondtMertens,
                                           LLGScheme::Heun, LLGScheme::Midpoint),
                         [](const auto &info) { return to_string(info.param); });

// ---------------------------------------------------------------------------------
// Symplecticity of one step. On (S^2)^N with the area form sum_i s_i . (du_i x dv_i),
// a map is symplectic when its Jacobian J in orthonormal tangent bases (e1, e2, with
// e1 x e2 = s) satisfies J^T W J = W, W = diag of [[0, 1], [-1, 0]] blocks.
namespace {

struct TangentBasis {
  Vec3 e1, e2;
};

TangentBasis tangent_basis(const Vec3 &s)
{
  const Vec3 trial = std::fabs(s.x) < 0.6 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = normalized(cross(trial, s));
  return {e1, cross(s, e1)};
}

using StepMap = std::function<std::vector<Vec3>(const std::vector<Vec3> &)>;

// max |J^T W J - W| of the step map at s, J by fourth-order central differences in the
// chart x -> normalized(s_i + x1 e1_i + x2 e2_i).
double symplectic_defect(const StepMap &step, const std::vector<Vec3> &s)
{
  const size_t n = s.size(), dim = 2 * n;
  std::vector<TangentBasis> in(n), out(n);
  const auto image = step(s);
  for (size_t i = 0; i < n; ++i) {
    in[i] = tangent_basis(s[i]);
    out[i] = tangent_basis(image[i]);
  }
  auto coordinates = [&](double x, size_t a) {    // output coordinates after moving along input a
    auto p = s;
    const auto &b = in[a / 2];
    p[a / 2] = normalized(p[a / 2] + x * (a % 2 ? b.e2 : b.e1));
    const auto q = step(p);
    std::vector<double> y(dim);
    for (size_t j = 0; j < n; ++j) {
      y[2 * j] = dot(out[j].e1, q[j]);
      y[2 * j + 1] = dot(out[j].e2, q[j]);
    }
    return y;
  };
  const double h = 1e-3;
  std::vector<std::vector<double>> jac(dim, std::vector<double>(dim));    // jac[row][column]
  for (size_t a = 0; a < dim; ++a) {
    const auto p1 = coordinates(h, a), m1 = coordinates(-h, a), p2 = coordinates(2 * h, a),
               m2 = coordinates(-2 * h, a);
    for (size_t r = 0; r < dim; ++r) jac[r][a] = (8 * (p1[r] - m1[r]) - (p2[r] - m2[r])) / (12 * h);
  }
  auto w = [](size_t r, size_t c) {    // [[0, 1], [-1, 0]] on each spin's 2 x 2 block
    if (r % 2 == 0 && c == r + 1) return 1.0;
    if (r % 2 == 1 && c + 1 == r) return -1.0;
    return 0.0;
  };
  double defect = 0.0;
  for (size_t a = 0; a < dim; ++a)
    for (size_t b = 0; b < dim; ++b) {
      double jwj = 0.0;
      for (size_t r = 0; r < dim; ++r)
        for (size_t c = 0; c < dim; ++c) jwj += jac[r][a] * w(r, c) * jac[c][b];
      defect = std::max(defect, std::fabs(jwj - w(a, b)));
    }
  return defect;
}

HeisenbergRing three_coupled_spins()
{
  HeisenbergRing model;    // three spins: each couples to the other two
  model.K = 0.5;
  model.n = normalized(Vec3{0.3, -0.2, 1.0});
  model.h = {0.2, 0.1, 0.3};
  return model;
}

StepMap integrator_step(LLGScheme scheme, const HeisenbergRing &model, double dt)
{
  return [=](const std::vector<Vec3> &s0) {
    auto integrator = make_llg_integrator(scheme, {0.0, LLGForm::Gilbert});
    auto s = s0;
    std::vector<Vec3> w;
    model.fields(s, w);
    integrator->step(s, w, {}, dt, model.field_function());
    return s;
  };
}

// What `integrator midpoint` did before: the Cayley rotation of s with (dt/2) Omega(m),
// iterated to convergence, i.e. s' - s = dt (|s + s'|/2) Omega(m) x m instead of
// dt Omega(m) x m. Kept here to show that the defect test tells the two apart.
StepMap scaled_cayley_midpoint_step(const HeisenbergRing &model, double dt)
{
  return [=](const std::vector<Vec3> &s) {
    std::vector<Vec3> next = s, mid(s.size()), w;
    for (int k = 0; k < 200; ++k) {
      for (size_t i = 0; i < s.size(); ++i) mid[i] = normalized(s[i] + next[i]);
      model.fields(mid, w);
      double change = 0.0;
      for (size_t i = 0; i < s.size(); ++i) {
        const Vec3 update = cayley_rotate(s[i], (0.5 * dt) * w[i]);
        change = std::max(change, norm(update - next[i]));
        next[i] = update;
      }
      if (change < 1e-15) break;
    }
    return next;
  };
}

}    // namespace

TEST(Midpoint, OneStepIsSymplecticOnThreeCoupledSpins)
{
  const auto model = three_coupled_spins();
  const auto s = mlspin_test::scattered_spins(3, 1.3);
  const double dt = 0.1;
  const double midpoint = symplectic_defect(integrator_step(LLGScheme::Midpoint, model, dt), s);
  const double scaled_cayley = symplectic_defect(scaled_cayley_midpoint_step(model, dt), s);
  const double sib = symplectic_defect(integrator_step(LLGScheme::SemiImplicitB, model, dt), s);
  std::printf("  symplectic 2-form defect of one step at dt = %.2f: spherical midpoint %.2e, scaled Cayley "
              "midpoint (before) %.2e, sib %.2e\n",
              dt, midpoint, scaled_cayley, sib);
  EXPECT_LE(midpoint, 1e-9);
  EXPECT_GE(scaled_cayley, 1e-6);    // the test can tell a non-symplectic midpoint
}

// s_i' - s_i = dt w_i(m) x m_i with w_i(m) = J sum_j m_j: the total spin changes by
// dt J sum_ij m_j x m_i = 0, so isotropic exchange conserves it to round-off.
TEST(Midpoint, ConservesTotalSpinToRoundOffForIsotropicExchange)
{
  HeisenbergRing model;
  auto integrator = make_llg_integrator(LLGScheme::Midpoint, {0.0, LLGForm::Gilbert});
  auto s = mlspin_test::scattered_spins(10);
  Vec3 m0;
  for (const auto &si : s) m0 += si;
  std::vector<Vec3> w;
  double worst = 0.0, evaluations = 0.0;
  const int steps = 2000;
  for (int n = 0; n < steps; ++n) {
    model.fields(s, w);
    integrator->step(s, w, {}, 0.05, model.field_function());
    evaluations += integrator->last_evaluations();
    Vec3 m;
    for (const auto &si : s) m += si;
    worst = std::max(worst, norm(m - m0));
  }
  std::printf("  [midpoint] max |M - M0| over %d steps of dt = 0.05: %.2e (%.1f field evaluations per step)\n",
              steps, worst, evaluations / steps);
  EXPECT_LE(worst, 1e-12);
}

// Fields with single-precision round-off (as from a float32 model): the iteration stops
// at their noise floor instead of failing, and the step agrees with the double-precision
// one to that floor.
TEST(Midpoint, SinglePrecisionFieldsConvergeAtTheirRoundOff)
{
  const auto model = three_coupled_spins();
  const mlspin::FieldFunction float_fields = [&](const std::vector<Vec3> &s, std::vector<Vec3> &w) {
    model.fields(s, w);
    for (auto &wi : w) wi = {float(wi.x), float(wi.y), float(wi.z)};
  };
  auto exact = make_llg_integrator(LLGScheme::Midpoint, {0.0, LLGForm::Gilbert});
  auto rounded = make_llg_integrator(LLGScheme::Midpoint, {0.0, LLGForm::Gilbert});
  auto s_exact = mlspin_test::scattered_spins(3, 1.3), s_rounded = s_exact;
  std::vector<Vec3> w;
  double worst = 0.0;
  int most_evaluations = 0;
  for (int n = 0; n < 200; ++n) {
    model.fields(s_exact, w);
    exact->step(s_exact, w, {}, 0.05, model.field_function());
    float_fields(s_rounded, w);
    rounded->step(s_rounded, w, {}, 0.05, float_fields);
    most_evaluations = std::max(most_evaluations, rounded->last_evaluations());
    worst = std::max(worst, norm(s_exact[0] - s_rounded[0]));
  }
  std::printf("  [midpoint] float-rounded fields: at most %d evaluations per step, max distance to the "
              "double-precision trajectory over 200 steps %.2e\n",
              most_evaluations, worst);
  EXPECT_LE(most_evaluations, 20);
  EXPECT_LE(worst, 1e-5);
}

// A time step too large for the fixed-point iteration to contract gives a clear error.
TEST(Midpoint, TooLargeStepIsAClearError)
{
  HeisenbergRing model;
  model.J = 50.0;
  auto integrator = make_llg_integrator(LLGScheme::Midpoint, {0.0, LLGForm::Gilbert});
  auto s = mlspin_test::scattered_spins(6);
  std::vector<Vec3> w;
  model.fields(s, w);
  try {
    integrator->step(s, w, {}, 1.0, model.field_function());
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("did not converge"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reduce the time step"), std::string::npos) << e.what();
  }
}
