#include "core/thermal_noise.h"

#include "core/llg.h"

#include <cmath>

namespace mlspin {

namespace {
  constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
  constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
  constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;    // golden ratio
  constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;    // sqrt(3) - 1

  inline void mulhilo(uint32_t a, uint32_t b, uint32_t &hi, uint32_t &lo)
  {
    const uint64_t p = static_cast<uint64_t>(a) * b;
    hi = static_cast<uint32_t>(p >> 32);
    lo = static_cast<uint32_t>(p);
  }

  // uniform in (0, 1], never 0, so that log() in Box-Muller is finite
  inline double to_unit_interval(uint32_t u) { return (static_cast<double>(u) + 1.0) / 4294967296.0; }
}    // namespace

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k)
{
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kPhiloxM0, c[0], hi0, lo0);
    mulhilo(kPhiloxM1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    k[0] += kPhiloxW0;
    k[1] += kPhiloxW1;
  }
  return c;
}

Vec3 gaussian3(uint64_t seed, uint64_t id, uint64_t step)
{
  const auto r = philox4x32({static_cast<uint32_t>(id), static_cast<uint32_t>(id >> 32),
                             static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32)},
                            {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  const double rad0 = std::sqrt(-2.0 * std::log(to_unit_interval(r[0])));
  const double rad1 = std::sqrt(-2.0 * std::log(to_unit_interval(r[2])));
  const double phi0 = 2.0 * M_PI * to_unit_interval(r[1]);
  const double phi1 = 2.0 * M_PI * to_unit_interval(r[3]);
  return {rad0 * std::cos(phi0), rad0 * std::sin(phi0), rad1 * std::cos(phi1)};
}

double thermal_noise_sigma(double alpha, double kT, double hbar, double dt, LLGForm form)
{
  double variance_rate = 2.0 * alpha * kT / hbar;
  if (form == LLGForm::LandauLifshitz) variance_rate /= 1.0 + alpha * alpha;
  return std::sqrt(variance_rate / dt);
}

}    // namespace mlspin
