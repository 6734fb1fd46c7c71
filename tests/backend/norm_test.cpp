// group_norm and layer_norm against double-precision references.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/reference.hpp"
#include "common/compare.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

Tensor group_norm_ref(const Tensor& x, int groups, const Tensor& g, const Tensor& b, double eps, bool silu) {
  const int64_t N = x.dim(0), C = x.dim(-1), P = x.numel() / (N * C), cpg = C / groups;
  Tensor y(x.shape());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < groups; ++k) {
      double m = 0, v = 0;
      for (int64_t p = 0; p < P; ++p)
        for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) m += x.f32()[(n * P + p) * C + c];
      m /= double(P * cpg);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) v += std::pow(x.f32()[(n * P + p) * C + c] - m, 2);
      v /= double(P * cpg);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) {
          const int64_t i = (n * P + p) * C + c;
          double o = (x.f32()[i] - m) / std::sqrt(v + eps) * g.f32()[c] + b.f32()[c];
          y.f32()[i] = float(silu ? silu_ref(o) : o);
        }
    }
  return y;
}

TEST(GroupNorm, MatchesReference) {
  for (bool silu : {false, true})
    for (int threads : {1, 2}) {
      ops::set_threads(threads);
      // Large offset: a one-pass float variance would lose most digits here.
      const Tensor x = random_tensor({2, 7, 5, 64}, 31, 2.0f, 50.0f);
      const Tensor g = random_tensor({64}, 32, 0.2f, 1.0f), b = random_tensor({64}, 33);
      const Tensor ref = group_norm_ref(x, 32, g, b, 1e-5, silu);
      const Tensor y = ops::group_norm(x, 32, g, b, 1e-5f, silu);
      EXPECT_LE(compare(y, ref).rel(), 1e-5) << compare(y, ref).str() << " silu " << silu;
    }
}

TEST(GroupNorm, SequenceShapeAndOddGroups) {
  const Tensor x = random_tensor({3, 11, 12}, 34);
  const Tensor g = random_tensor({12}, 35), b = random_tensor({12}, 36);
  EXPECT_LE(compare(ops::group_norm(x, 3, g, b, 1e-6f), group_norm_ref(x, 3, g, b, 1e-6, false)).rel(), 1e-5);
  EXPECT_THROW(ops::group_norm(x, 5, g, b, 1e-6f), Error);
}

TEST(LayerNorm, MatchesReference) {
  const Tensor x = random_tensor({2, 77, 48}, 41, 3.0f, 10.0f);
  const Tensor g = random_tensor({48}, 42, 0.2f, 1.0f), b = random_tensor({48}, 43);
  Tensor ref(x.shape());
  for (int64_t r = 0; r < 2 * 77; ++r) {
    const float* row = x.f32() + r * 48;
    double m = 0, v = 0;
    for (int c = 0; c < 48; ++c) m += row[c];
    m /= 48;
    for (int c = 0; c < 48; ++c) v += (row[c] - m) * (row[c] - m);
    v /= 48;
    for (int c = 0; c < 48; ++c)
      ref.f32()[r * 48 + c] = float((row[c] - m) / std::sqrt(v + 1e-5) * g.f32()[c] + b.f32()[c]);
  }
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    const Tensor y = ops::layer_norm(x, g, b, 1e-5f);
    EXPECT_LE(compare(y, ref).rel(), 1e-5) << compare(y, ref).str();
  }
}

}  // namespace
}  // namespace sdwalk::test
