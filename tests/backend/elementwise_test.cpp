// Activations and adds against double-precision references.
#include <gtest/gtest.h>

#include <cmath>

#include "backend/reference.hpp"
#include "common/compare.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

// Wide range so both tails of the sigmoid/erf are exercised.
Tensor inputs() { return random_tensor({3, 5, 67}, 51, 6.0f); }

TEST(Activations, MatchReferences) {
  const Tensor x = inputs();
  const Tensor silu_ref_t = map_ref(x, silu_ref);
  const Tensor gelu_ref_t = map_ref(x, gelu_ref);
  const Tensor qg_ref = map_ref(x, [](double v) { return v / (1.0 + std::exp(-1.702 * v)); });
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    EXPECT_LE(compare(ops::silu(x), silu_ref_t).rel(), 1e-6) << compare(ops::silu(x), silu_ref_t).str();
    EXPECT_LE(compare(ops::gelu(x), gelu_ref_t).rel(), 1e-6) << compare(ops::gelu(x), gelu_ref_t).str();
    EXPECT_LE(compare(ops::quick_gelu(x), qg_ref).rel(), 1e-6) << compare(ops::quick_gelu(x), qg_ref).str();
  }
}

TEST(Activations, Geglu) {
  const Tensor x = random_tensor({2, 9, 2 * 40}, 52, 3.0f);
  Tensor ref({2, 9, 40});
  for (int64_t r = 0; r < 18; ++r)
    for (int i = 0; i < 40; ++i)
      ref.f32()[r * 40 + i] = float(double(x.f32()[r * 80 + i]) * gelu_ref(x.f32()[r * 80 + 40 + i]));
  const Tensor y = ops::geglu(x);
  ASSERT_EQ(y.shape(), ref.shape());
  EXPECT_LE(compare(y, ref).rel(), 1e-6) << compare(y, ref).str();
  EXPECT_THROW(ops::geglu(random_tensor({2, 3}, 1)), Error);
}

TEST(Adds, AddAndInplaceAndChannelBias) {
  const Tensor a = random_tensor({2, 3, 4, 5}, 53), b = random_tensor({2, 3, 4, 5}, 54);
  Tensor ref(a.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ref.f32()[i] = a.f32()[i] + b.f32()[i];
  EXPECT_EQ(compare(ops::add(a, b), ref).max_abs, 0.0);
  Tensor c = a.clone();
  ops::add_inplace(c, b);
  EXPECT_EQ(compare(c, ref).max_abs, 0.0);
  EXPECT_THROW(ops::add(a, random_tensor({2, 3, 4, 4}, 1)), Error);

  const Tensor v = random_tensor({2, 5}, 55);
  Tensor d = a.clone();
  ops::add_channel_bias_inplace(d, v);
  Tensor ref2(a.shape());
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t p = 0; p < 12; ++p)
      for (int64_t ch = 0; ch < 5; ++ch) {
        const int64_t i = (n * 12 + p) * 5 + ch;
        ref2.f32()[i] = a.f32()[i] + v.f32()[n * 5 + ch];
      }
  EXPECT_EQ(compare(d, ref2).max_abs, 0.0);
}

}  // namespace
}  // namespace sdwalk::test
