// Core LLG integrators against analytic single-spin dynamics.
#include "core/llg.h"

#include <gtest/gtest.h>

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
