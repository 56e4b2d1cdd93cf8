// bf16::multiply against a double-precision product of the same rounded inputs: the
// products of two bfloat16 numbers are exact in float32, so the only differences are
// the float32 sums (relative 1e-6 of the sum of |terms|). Rounding: round to nearest,
// ties to even, checked on exact binary values. Skipped on CPUs without AVX512-BF16.
#include "core/bf16_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

using namespace mlspin;

float from_bits(uint16_t h)
{
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

TEST(Bf16, RoundsToNearestEven)
{
  EXPECT_EQ(bf16::round(1.0f), 0x3F80);
  EXPECT_EQ(bf16::round(-2.0f), 0xC000);
  // 1 + 2^-8 lies half way between 1 and 1 + 2^-7: ties go to the even one (1)
  EXPECT_EQ(bf16::round(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  // 1 + 3 2^-8 lies half way between 1 + 2^-7 (odd) and 1 + 2^-6 (even)
  EXPECT_EQ(bf16::round(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  // just above half way rounds up
  EXPECT_EQ(bf16::round(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);
  EXPECT_FLOAT_EQ(from_bits(bf16::round(0.15625f)), 0.15625f);    // exact in 8 bits
}

// C = bias + A B: m x k times k x n, random values with a wide range
void check_product(int64_t m, int64_t k, int64_t n, bool with_bias)
{
  std::mt19937_64 rng(17 + m + 7 * k + 31 * n);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(m * k), b(k * n), bias(m);
  for (auto &x : a) x = normal(rng) * std::exp(normal(rng));
  for (auto &x : b) x = normal(rng);
  for (auto &x : bias) x = normal(rng);
  const bf16::PairedRows paired(a.data(), m, k, k);
  std::vector<uint32_t> packed;
  const int64_t stride = bf16::pack_columns(b.data(), k, n, n, packed);
  ASSERT_EQ(stride % 32, 0);
  ASSERT_GE(stride, n);
  const int64_t ldc = n + 3;
  const float sentinel = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> c(m * ldc, sentinel);
  bf16::multiply(paired, packed.data(), n, stride, with_bias ? bias.data() : nullptr, c.data(), ldc);
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) {
      double sum = with_bias ? bias[i] : 0.0, scale = std::fabs(sum);
      for (int64_t q = 0; q < k; q++) {
        const double term = double(from_bits(bf16::round(a[i * k + q]))) * from_bits(bf16::round(b[q * n + j]));
        sum += term;
        scale += std::fabs(term);
      }
      ASSERT_NEAR(c[i * ldc + j], sum, 2e-6 * scale + 1e-30) << "row " << i << " column " << j;
    }
    for (int64_t j = n; j < ldc; j++) ASSERT_TRUE(std::isnan(c[i * ldc + j])) << "wrote past column n";
  }
  // the products differ from float32 ones by the rounding of the inputs (2^-9 relative)
  double worst = 0.0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double exact = with_bias ? bias[i] : 0.0, scale = std::fabs(exact);
      for (int64_t q = 0; q < k; q++) {
        exact += double(a[i * k + q]) * b[q * n + j];
        scale += std::fabs(double(a[i * k + q]) * b[q * n + j]);
      }
      worst = std::max(worst, std::fabs(c[i * ldc + j] - exact) / scale);
    }
  EXPECT_LT(worst, 2.0 * std::ldexp(1.0, -8));
}

TEST(Bf16, ProductMatchesDoubleOfRoundedInputs)
{
  if (!bf16::supported()) GTEST_SKIP() << "the CPU has no AVX512-BF16";
  check_product(13, 7, 45, true);    // tails: rows (13 = 12 + 1), odd k, columns (45 = 32 + 13)
  check_product(1, 1, 1, false);
  check_product(24, 64, 32, false);
  check_product(64, 1928, 100, true);    // the first layer of the shipped triangular member
}

}    // namespace
