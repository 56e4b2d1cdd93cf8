// Matrix products with bfloat16 inputs and float32 accumulation (AVX512-BF16,
// vdpbf16ps), for the first layer of the network of single-precision models, which
// dominates their cost (pair_style mlspin bf16 yes).
//
//   C[m][n] = bias[m] + sum_k A[m][k] B[k][n]
//
// A (the weights) is rounded to bfloat16 once, B (features or gradients) at every
// product; products of two bfloat16 numbers are exact in float32, sums are float32.
// Round to nearest even (as vcvtne2ps2bf16). Each bfloat16 number has 8 significant
// bits: relative rounding 2^-9 per input; measured on the shipped triangular model,
// the fields change by about 0.6 % of the model's own error against the reference
// (doc/pair_mlspin.rst).
//
// Both operands are stored as pairs along k: a 32-bit word holds elements 2j (low
// half) and 2j+1 (high half), as vdpbf16ps reads them.
#pragma once

#include <cstdint>
#include <vector>

namespace mlspin {
namespace bf16 {

// the CPU executes AVX512-BF16 (and AVX512F/BW)
bool supported();

// bfloat16 bits of x, rounded to nearest even (finite x)
uint16_t round(float x);

// A as pairs along its columns, rounded once: word (m, j) = (A[m][2j], A[m][2j+1]),
// zero past the last column
class PairedRows {
 public:
  PairedRows() = default;
  // rows x cols, row-major with leading dimension lda
  PairedRows(const float *a, int64_t rows, int64_t cols, int64_t lda);
  int64_t rows() const { return rows_; }
  int64_t pairs() const { return pairs_; }
  const uint32_t *data() const { return words_.data(); }

 private:
  int64_t rows_ = 0, pairs_ = 0;
  std::vector<uint32_t> words_;
};

// B (k x n, row-major with leading dimension ldb) as pairs along k: word (j, c) =
// (B[2j][c], B[2j+1][c]) at out[j * stride + c], stride = n rounded up to 32 (zeros
// past n and past the last row). Returns the stride. Needs supported().
int64_t pack_columns(const float *b, int64_t k, int64_t n, int64_t ldb, std::vector<uint32_t> &out);

// C = bias + A B for the n columns of B packed by pack_columns with this stride;
// C row-major with leading dimension ldc (>= n); bias may be null (zero). A.pairs()
// must equal B's pairs. Needs supported().
void multiply(const PairedRows &a, const uint32_t *b, int64_t n, int64_t stride, const float *bias, float *c,
              int64_t ldc);

}    // namespace bf16
}    // namespace mlspin
