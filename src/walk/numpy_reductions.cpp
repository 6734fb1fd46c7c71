#include "walk/numpy_reductions.hpp"

#include <algorithm>
#include <cmath>

namespace sdwalk::walk_detail {

namespace {

// NumPy's @TYPE@_pairwise_sum (umath/loops_utils.h.src), PW_BLOCKSIZE = 128.
float pairwise(const float* a, int64_t n) {
  if (n < 8) {
    float res = 0.0f;
    for (int64_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

constexpr int64_t kNumpyBufferSize = 8192;  // NPY_BUFSIZE: the reduction's inner-loop length

}  // namespace

float numpy_sum_f32(const float* a, int64_t n) {
  // add.reduce starts from the identity 0 and adds each buffer's pairwise sum.
  float res = 0.0f;
  for (int64_t i = 0; i < n; i += kNumpyBufferSize) res += pairwise(a + i, std::min(kNumpyBufferSize, n - i));
  return res;
}

float numpy_norm_f32(const float* x, int64_t n) {
  // sdot_kernel_16 (kernel/x86_64/sdot_microk_haswell-2.c): four 8-lane accumulators, vfmadd231ps.
  float acc[4][8] = {};
  const int64_t n1 = n & ~int64_t(31);
  for (int64_t i = 0; i < n1; i += 32)
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 8; ++j) acc[k][j] = std::fma(x[i + 8 * k + j], x[i + 8 * k + j], acc[k][j]);
  // Fold: high 128 bits onto low, (acc0 + acc1) + (acc2 + acc3), then two horizontal adds.
  float lane[4];
  for (int j = 0; j < 4; ++j) {
    const float a0 = acc[0][j] + acc[0][j + 4], a1 = acc[1][j] + acc[1][j + 4];
    const float a2 = acc[2][j] + acc[2][j + 4], a3 = acc[3][j] + acc[3][j + 4];
    lane[j] = (a0 + a1) + (a2 + a3);
  }
  const float kernel = n1 > 0 ? (lane[0] + lane[1]) + (lane[2] + lane[3]) : 0.0f;
  // The driver's tail loop (sdot.c): float products added to a double that starts at the kernel's
  // sum, rounded to float once at the end. Checked against NumPy on OpenBLAS for sizes that are no
  // multiple of 32 (tests/walk/numpy_slerp_test.cpp).
  double dot = kernel;
  for (int64_t i = n1; i < n; ++i) dot += double(x[i] * x[i]);
  return std::sqrt(float(dot));
}

}  // namespace sdwalk::walk_detail
