#include "core/bf16_gemm.h"

#include "core/error.h"

#include <cstring>

// GCC 12 warns about the deliberately undefined vectors inside its AVX-512 headers
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace mlspin {
namespace bf16 {

namespace {

#define MLSPIN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

constexpr int kColumns = 32;    // columns per tile: two vectors of 16 floats
constexpr int kRows = 12;       // rows per tile: 24 accumulators of the 32 vector registers

uint32_t bits_of(float x)
{
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// bfloat16 bits of 16 floats in the low halves of 32-bit lanes (round to nearest even)
MLSPIN_BF16_TARGET inline __m512i round16(__m512 x)
{
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb);
  return _mm512_srli_epi32(r, 16);
}

MLSPIN_BF16_TARGET inline __mmask16 lanes_below(int64_t count)
{
  return count >= 16 ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1u);
}

// C rows m0..m0+MR-1, columns c0..c0+31 (stored where below n)
template <int MR>
MLSPIN_BF16_TARGET void tile(const uint32_t *a, int64_t pairs, const uint32_t *b, int64_t stride, int64_t c0,
                             int64_t n, const float *bias, float *c, int64_t ldc)
{
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) {
    const __m512 b0 = _mm512_set1_ps(bias ? bias[r] : 0.0f);
    acc[r][0] = b0;
    acc[r][1] = b0;
  }
  const uint32_t *col = b + c0;
  for (int64_t j = 0; j < pairs; j++) {
    const __m512bh x0 = (__m512bh)_mm512_loadu_si512(col + j * stride);
    const __m512bh x1 = (__m512bh)_mm512_loadu_si512(col + j * stride + 16);
    for (int r = 0; r < MR; r++) {
      const __m512bh w = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * pairs + j]));
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], w, x0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], w, x1);
    }
  }
  const __mmask16 k0 = lanes_below(n - c0), k1 = lanes_below(n - c0 - 16);
  for (int r = 0; r < MR; r++) {
    _mm512_mask_storeu_ps(c + r * ldc + c0, k0, acc[r][0]);
    _mm512_mask_storeu_ps(c + r * ldc + c0 + 16, k1, acc[r][1]);
  }
}

// one tile of the last rows (fewer than kRows)
MLSPIN_BF16_TARGET void tail_tile(int rows, const uint32_t *a, int64_t pairs, const uint32_t *b, int64_t stride,
                                  int64_t c0, int64_t n, const float *bias, float *c, int64_t ldc)
{
  switch (rows) {
    case 1: return tile<1>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 2: return tile<2>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 3: return tile<3>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 4: return tile<4>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 5: return tile<5>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 6: return tile<6>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 7: return tile<7>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 8: return tile<8>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 9: return tile<9>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 10: return tile<10>(a, pairs, b, stride, c0, n, bias, c, ldc);
    case 11: return tile<11>(a, pairs, b, stride, c0, n, bias, c, ldc);
    default: return;
  }
}

// Long products (the forward pass, many pairs): column tiles outside, row tiles inside,
// so that a tile of B (pairs x 32 words) stays in the cache while every row of A
// passes. Short ones (the backward pass, pairs = half the layer's width, many rows):
// row tiles outside, so that C is written row block after row block.
MLSPIN_BF16_TARGET void multiply_impl(const uint32_t *a, int64_t rows, int64_t pairs, const uint32_t *b,
                                      int64_t stride, int64_t n, const float *bias, float *c, int64_t ldc)
{
  if (pairs <= 128) {
    int64_t m0 = 0;
    for (; m0 + kRows <= rows; m0 += kRows)
      for (int64_t c0 = 0; c0 < n; c0 += kColumns)
        tile<kRows>(a + m0 * pairs, pairs, b, stride, c0, n, bias ? bias + m0 : nullptr, c + m0 * ldc, ldc);
    if (m0 < rows)
      for (int64_t c0 = 0; c0 < n; c0 += kColumns)
        tail_tile(static_cast<int>(rows - m0), a + m0 * pairs, pairs, b, stride, c0, n, bias ? bias + m0 : nullptr,
                  c + m0 * ldc, ldc);
    return;
  }
  for (int64_t c0 = 0; c0 < n; c0 += kColumns) {
    int64_t m0 = 0;
    for (; m0 + kRows <= rows; m0 += kRows)
      tile<kRows>(a + m0 * pairs, pairs, b, stride, c0, n, bias ? bias + m0 : nullptr, c + m0 * ldc, ldc);
    if (m0 < rows)
      tail_tile(static_cast<int>(rows - m0), a + m0 * pairs, pairs, b, stride, c0, n, bias ? bias + m0 : nullptr,
                c + m0 * ldc, ldc);
  }
}

MLSPIN_BF16_TARGET void pack_impl(const float *b, int64_t k, int64_t n, int64_t ldb, int64_t stride, uint32_t *out)
{
  const int64_t pairs = (k + 1) / 2;
  for (int64_t j = 0; j < pairs; j++) {
    const float *lo = b + 2 * j * ldb;
    const float *hi = 2 * j + 1 < k ? lo + ldb : nullptr;
    uint32_t *row = out + j * stride;
    for (int64_t c = 0; c < stride; c += 16) {
      const __mmask16 m = lanes_below(n - c);
      const __m512i l = round16(_mm512_maskz_loadu_ps(m, lo + c));
      const __m512i h = hi ? round16(_mm512_maskz_loadu_ps(m, hi + c)) : _mm512_setzero_si512();
      _mm512_storeu_si512(row + c, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
    }
  }
}

}    // namespace

bool supported()
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512bf16");
}

uint16_t round(float x)
{
  const uint32_t u = bits_of(x);
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

PairedRows::PairedRows(const float *a, int64_t rows, int64_t cols, int64_t lda)
    : rows_(rows), pairs_((cols + 1) / 2), words_(rows * ((cols + 1) / 2))
{
  for (int64_t m = 0; m < rows; m++)
    for (int64_t j = 0; j < pairs_; j++) {
      const uint32_t lo = round(a[m * lda + 2 * j]);
      const uint32_t hi = 2 * j + 1 < cols ? round(a[m * lda + 2 * j + 1]) : 0u;
      words_[m * pairs_ + j] = lo | (hi << 16);
    }
}

int64_t pack_columns(const float *b, int64_t k, int64_t n, int64_t ldb, std::vector<uint32_t> &out)
{
  const int64_t stride = (n + kColumns - 1) / kColumns * kColumns;
  out.resize(((k + 1) / 2) * stride);
  pack_impl(b, k, n, ldb, stride, out.data());
  return stride;
}

void multiply(const PairedRows &a, const uint32_t *b, int64_t n, int64_t stride, const float *bias, float *c,
              int64_t ldc)
{
  if (stride % kColumns != 0 || stride < n || ldc < n) throw Error("bf16::multiply: bad stride or leading dimension");
  multiply_impl(a.data(), a.rows(), a.pairs(), b, stride, n, bias, c, ldc);
}

}    // namespace bf16
}    // namespace mlspin
