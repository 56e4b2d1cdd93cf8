// Core LLG integrators against analytic single-spin dynamics.
#include "core/llg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace mlspin;

namespace {

// One spin in a static field w0 along z (fm = w0 z): polar angle theta and azimuth phi
//   tan(theta/2) = tan(theta0/2) exp(-a w0 t / (1+a^2)),  phi = phi0 + w0 t / (1+a^2)
// for the Gilbert form; without the 1/(1+a^2) factor for the LL form.
Vec3 analytic_precession(double theta0, double w0, double alpha, LLGForm form, double t)
{
  const double scale = form == LLGForm::Gilbert ? 1.0 / (1.0 + alpha * alpha) : 1.0;
  const double theta = 2.0 * std::atan(std::tan(0.5 * theta0) * std::exp(-alpha * w0 * scale * t));
  const double phi = w0 * scale * t;
  return {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
}

double precession_error(LLGScheme scheme, LLGForm form, double alpha, double dt, double t_end)
{
  const double theta0 = 1.2, w0 = 2.0;
  auto integrator = make_llg_integrator(scheme, {alpha, form});
  std::vector<Vec3> s{analytic_precession(theta0, w0, alpha, form, 0.0)};
  const Vec3 field{0.0, 0.0, w0};
  std::vector<Vec3> w{field};
  const FieldFunction static_field = [&](const std::vector<Vec3> &, std::vector<Vec3> &out) { out = {field}; };
  const int steps = static_cast<int>(std::lround(t_end / dt));
  for (int n = 0; n < steps; ++n) integrator->step(s, w, {}, dt, static_field);
  return norm(s[0] - analytic_precession(theta0, w0, alpha, form, steps * dt));
}

struct SchemeCase {
  LLGScheme scheme;
  LLGForm form;
  double alpha;
};

class SingleSpinPrecession : public ::testing::TestWithParam<SchemeCase> {};

}    // namespace

TEST_P(SingleSpinPrecession, MatchesAnalyticSolutionAtSmallStep)
{
  const auto c = GetParam();
  EXPECT_LE(precession_error(c.scheme, c.form, c.alpha, 1e-4, 2.0), 1e-6);
}

TEST_P(SingleSpinPrecession, ConvergesAtSecondOrder)
{
  const auto c = GetParam();
  const double e1 = precession_error(c.scheme, c.form, c.alpha, 0.02, 2.0);
  const double e2 = precession_error(c.scheme, c.form, c.alpha, 0.01, 2.0);
  const double order = std::log2(e1 / e2);
  std::printf("  [%s, %s, alpha=%.2f] error(dt=0.02)=%.3e error(dt=0.01)=%.3e order=%.3f\n",
              to_string(c.scheme).c_str(), c.form == LLGForm::Gilbert ? "gilbert" : "ll", c.alpha, e1,
              e2, order);
  EXPECT_NEAR(order, 2.0, 0.1);
}

INSTANTIATE_TEST_SUITE_P(
    AllSchemes, SingleSpinPrecession,
    ::testing::Values(SchemeCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 0.1},
                      SchemeCase{LLGScheme::DepondtMertens, LLGForm::Gilbert, 0.1},
                      SchemeCase{LLGScheme::Heun, LLGForm::Gilbert, 0.1},
                      SchemeCase{LLGScheme::Midpoint, LLGForm::Gilbert, 0.1},
                      SchemeCase{LLGScheme::SemiImplicitB, LLGForm::LandauLifshitz, 0.5},
                      SchemeCase{LLGScheme::DepondtMertens, LLGForm::LandauLifshitz, 0.5},
                      SchemeCase{LLGScheme::Heun, LLGForm::LandauLifshitz, 0.5},
                      SchemeCase{LLGScheme::Midpoint, LLGForm::LandauLifshitz, 0.5},
                      SchemeCase{LLGScheme::Midpoint, LLGForm::Gilbert, 0.0}));

// sib advances spins in blocks of 64 (src/core/llg.cpp); on 1000 coupled spins (15 full
// blocks and a partial one), with noise, each spin must follow the published formula
// written spin by spin with the public kernels: predictor, normalised midpoint, fields at
// the midpoints, Cayley corrector.
TEST(SemiImplicitB, BlocksOfSpinsFollowTheSpinBySpinFormula)
{
  const size_t n = 1000;
  const LLGSettings settings{0.3, LLGForm::Gilbert};
  std::vector<Vec3> s(n), noise(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = 0.37 * i;
    s[i] = normalized(Vec3{std::cos(t), std::sin(1.3 * t), 0.4 + std::cos(2.1 * t)});
    noise[i] = Vec3{0.5 * std::sin(0.7 * t), 0.2, -0.3 * std::cos(t)};
  }
  // a ring of exchange-coupled spins plus a site-dependent Zeeman field
  const FieldFunction ring = [n](const std::vector<Vec3> &x, std::vector<Vec3> &w) {
    w.resize(n);
    for (size_t i = 0; i < n; ++i) w[i] = 1.5 * (x[(i + 1) % n] + x[(i + n - 1) % n]) + Vec3{0.0, 0.01 * i, 1.0};
  };
  std::vector<Vec3> w_start;
  ring(s, w_start);
  const double dt = 0.05;

  std::vector<Vec3> mid(n), w_mid, expected(n);
  auto omega = [&](const Vec3 &x, const Vec3 &w, size_t i) { return llg_rotation_vector(x, w + noise[i], settings); };
  for (size_t i = 0; i < n; ++i)
    mid[i] = normalized(0.5 * (s[i] + cayley_rotate(s[i], (0.5 * dt) * omega(s[i], w_start[i], i))));
  ring(mid, w_mid);
  for (size_t i = 0; i < n; ++i) expected[i] = cayley_rotate(s[i], (0.5 * dt) * omega(mid[i], w_mid[i], i));

  const std::vector<Vec3> initial = s;
  auto integrator = make_llg_integrator(LLGScheme::SemiImplicitB, settings);
  integrator->step(s, w_start, noise, dt, ring);
  double largest = 0.0, moved = 0.0;
  for (size_t i = 0; i < n; ++i) {
    largest = std::max(largest, norm(s[i] - expected[i]));
    moved = std::max(moved, norm(s[i] - initial[i]));
  }
  EXPECT_LE(largest, 1e-15);    // the same arithmetic; allows a compiler's fused multiply-adds
  EXPECT_GT(moved, 1e-2);       // the step is not trivial
}
