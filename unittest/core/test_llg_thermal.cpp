// Boltzmann statistics of the stochastic LLG integrators: independent spins in a
// Zeeman field (Langevin function) and under uniaxial anisotropy (angular histogram).
// Error bars come from the spread over independent spins, so time correlations within
// one spin's trajectory do not fake precision.
#include "core/llg.h"
#include "core/thermal_noise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

using namespace mlspin;

namespace {

struct Ensemble {
  LLGScheme scheme = LLGScheme::SemiImplicitB;
  LLGSettings settings;
  double kT = 1.0, dt = 0.01;
  long equilibration_steps = 0, sampling_steps = 0, sample_every = 1;
  size_t spins = 400;
  uint64_t seed = 12345;
  std::function<void(const std::vector<Vec3> &, std::vector<Vec3> &)> fields;
  std::function<Vec3(size_t)> initial;    // a spin drawn from the target distribution
};

// Runs the ensemble and calls observe(i, s_i) for every spin at every sample.
void run(const Ensemble &e, const std::function<void(size_t, const Vec3 &)> &observe)
{
  auto integrator = make_llg_integrator(e.scheme, e.settings);
  std::vector<Vec3> s(e.spins), w, noise(e.spins);
  for (size_t i = 0; i < e.spins; ++i) s[i] = e.initial(i);
  const double sigma = thermal_noise_sigma(e.settings.alpha, e.kT, 1.0, e.dt, e.settings.form);
  const long total = e.equilibration_steps + e.sampling_steps;
  for (long n = 0; n < total; ++n) {
    for (size_t i = 0; i < e.spins; ++i) noise[i] = sigma * gaussian3(e.seed, i, n);
    e.fields(s, w);
    integrator->step(s, w, noise, e.dt, e.fields);
    if (n >= e.equilibration_steps && (n - e.equilibration_steps) % e.sample_every == 0)
      for (size_t i = 0; i < e.spins; ++i) observe(i, s[i]);
  }
}

// cos(theta) drawn from p(c) ~ exp(x c) on [-1, 1] by inverting its distribution
Vec3 boltzmann_zeeman_spin(double x, double u, double phi)
{
  const double c = std::log(std::exp(-x) + u * (std::exp(x) - std::exp(-x))) / x;
  const double r = std::sqrt(std::max(0.0, 1.0 - c * c));
  return {r * std::cos(phi), r * std::sin(phi), c};
}

double uniform(uint64_t seed, uint64_t i)
{
  return 0.5 * (1.0 + std::erf(gaussian3(seed, i, 0).x / std::sqrt(2.0)));
}

double langevin(double x)
{
  return 1.0 / std::tanh(x) - 1.0 / x;
}

struct LangevinCase {
  LLGScheme scheme;
  LLGForm form;
  double alpha, x;
};

class ZeemanLangevin : public ::testing::TestWithParam<LangevinCase> {};

}    // namespace

// E = -|S| h s_z with |S| = 2, h = 1 (hbar = 1): <s_z> = L(x), x = |h| |S| / kT.
TEST_P(ZeemanLangevin, MeanSpinFollowsLangevinFunction)
{
  const auto c = GetParam();
  const double magnitude = 2.0, h = 1.0;
  Ensemble e;
  e.scheme = c.scheme;
  e.settings = {c.alpha, c.form};
  e.kT = magnitude * h / c.x;
  const double precession = magnitude * h;
  const double rate = c.form == LLGForm::Gilbert ? c.alpha / (1 + c.alpha * c.alpha) : c.alpha;
  const double relaxation_time = 1.0 / (rate * std::max(precession, 2.0 * e.kT));
  e.dt = c.alpha < 0.1 ? 0.05 : 0.005;
  e.equilibration_steps = std::lround(2 * relaxation_time / e.dt);
  e.sampling_steps = std::lround(20 * relaxation_time / e.dt);
  e.sample_every = 5;
  e.fields = [&](const std::vector<Vec3> &s, std::vector<Vec3> &w) { w.assign(s.size(), {0, 0, precession}); };
  e.initial = [&](size_t i) { return boltzmann_zeeman_spin(c.x, uniform(99, i), 2 * M_PI * uniform(98, i)); };

  std::vector<double> sum(e.spins, 0.0);
  std::vector<long> count(e.spins, 0);
  run(e, [&](size_t i, const Vec3 &s) {
    sum[i] += s.z;
    ++count[i];
  });
  double mean = 0.0, sq = 0.0;
  for (size_t i = 0; i < e.spins; ++i) {
    const double a = sum[i] / count[i];
    mean += a / e.spins;
    sq += a * a / e.spins;
  }
  const double se = std::sqrt((sq - mean * mean) / (e.spins - 1));
  const double expected = langevin(c.x);
  std::printf("  [%s %s alpha=%.2f x=%.1f] <s_z> = %.4f +- %.4f, L(x) = %.4f, deviation %.2f SE\n",
              to_string(c.scheme).c_str(), c.form == LLGForm::Gilbert ? "gilbert" : "ll", c.alpha, c.x, mean,
              se, expected, (mean - expected) / se);
  EXPECT_LE(std::fabs(mean - expected), 3.0 * se);
  EXPECT_LE(se, 0.01);    // precise enough to tell a wrong temperature by a factor 1.5
}

INSTANTIATE_TEST_SUITE_P(
    TemperaturesAndDampings, ZeemanLangevin,
    ::testing::Values(LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 0.01, 0.5},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 0.01, 2.0},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 0.01, 6.0},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 1.0, 0.5},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 1.0, 2.0},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::Gilbert, 1.0, 6.0},
                      LangevinCase{LLGScheme::SemiImplicitB, LLGForm::LandauLifshitz, 0.5, 2.0},
                      LangevinCase{LLGScheme::DepondtMertens, LLGForm::Gilbert, 1.0, 2.0},
                      LangevinCase{LLGScheme::Heun, LLGForm::Gilbert, 1.0, 2.0},
                      LangevinCase{LLGScheme::Midpoint, LLGForm::Gilbert, 1.0, 2.0}));

// E = -K s_z^2: the density of c = |cos theta| is exp(K c^2 / kT) / Z on [0, 1].
// Folding the two wells keeps slow barrier crossings out of the error bars.
TEST(UniaxialAnisotropy, AngularHistogramMatchesBoltzmann)
{
  const double K = 1.0, kT = 0.5;
  const int bins = 10;
  Ensemble e;
  e.settings = {0.5, LLGForm::Gilbert};
  e.kT = kT;
  e.dt = 0.005;
  e.equilibration_steps = 400;
  e.sampling_steps = 20000;
  e.sample_every = 10;
  e.fields = [&](const std::vector<Vec3> &s, std::vector<Vec3> &w) {
    w.resize(s.size());
    for (size_t i = 0; i < s.size(); ++i) w[i] = {0, 0, 2 * K * s[i].z};
  };
  // start isotropic; the equilibration relaxes the ensemble within each well
  e.initial = [&](size_t i) {
    return boltzmann_zeeman_spin(1e-9, uniform(97, i), 2 * M_PI * uniform(96, i));
  };

  std::vector<std::vector<double>> hist(e.spins, std::vector<double>(bins, 0.0));
  run(e, [&](size_t i, const Vec3 &s) { hist[i][std::min(bins - 1, int(std::fabs(s.z) * bins))] += 1.0; });

  // expected bin probabilities by Simpson integration of exp(K c^2 / kT)
  std::vector<double> expected(bins, 0.0);
  double z = 0.0;
  for (int b = 0; b < bins; ++b) {
    const int m = 200;
    const double lo = double(b) / bins, hw = 1.0 / bins / m;
    double acc = 0.0;
    for (int k = 0; k <= m; ++k) {
      const double c = lo + k * hw;
      acc += (k == 0 || k == m ? 1 : (k % 2 ? 4 : 2)) * std::exp(K * c * c / kT);
    }
    expected[b] = acc * hw / 3.0;
    z += expected[b];
  }
  double chi2 = 0.0;
  for (int b = 0; b < bins; ++b) {
    expected[b] /= z;
    double mean = 0.0, sq = 0.0;
    for (size_t i = 0; i < e.spins; ++i) {
      double total = 0.0;
      for (double v : hist[i]) total += v;
      const double f = hist[i][b] / total;
      mean += f / e.spins;
      sq += f * f / e.spins;
    }
    const double se = std::sqrt((sq - mean * mean) / (e.spins - 1));
    const double zscore = (mean - expected[b]) / se;
    chi2 += zscore * zscore;
    std::printf("  bin %d: measured %.4f +- %.4f, Boltzmann %.4f (%.1f SE)\n", b, mean, se, expected[b], zscore);
    EXPECT_LE(std::fabs(zscore), 4.0) << "bin " << b;
  }
  std::printf("  chi2 = %.1f for %d bins\n", chi2, bins);
  EXPECT_LE(chi2, 27.9);    // 99.9th percentile of chi2 with 9 degrees of freedom
}
