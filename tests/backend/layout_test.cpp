// Upsampling, concatenation and layout conversions (exact data movement).
#include <gtest/gtest.h>

#include "backend/reference.hpp"
#include "common/compare.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

TEST(Layout, UpsampleNearest2x) {
  const Tensor x = random_tensor({2, 3, 5, 4}, 61);
  const Tensor y = ops::upsample_nearest2x(x);
  ASSERT_EQ(y.shape(), (Shape{2, 6, 10, 4}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 6; ++h)
      for (int64_t w = 0; w < 10; ++w)
        for (int64_t c = 0; c < 4; ++c)
          ASSERT_EQ(y.f32()[((n * 6 + h) * 10 + w) * 4 + c], x.f32()[((n * 3 + h / 2) * 5 + w / 2) * 4 + c]);
}

TEST(Layout, ConcatChannels) {
  const Tensor a = random_tensor({2, 3, 4, 5}, 62), b = random_tensor({2, 3, 4, 7}, 63);
  const Tensor y = ops::concat_channels(a, b);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4, 12}));
  for (int64_t p = 0; p < 24; ++p)
    for (int64_t c = 0; c < 12; ++c)
      ASSERT_EQ(y.f32()[p * 12 + c], c < 5 ? a.f32()[p * 5 + c] : b.f32()[p * 7 + c - 5]);
  EXPECT_THROW(ops::concat_channels(a, random_tensor({2, 3, 5, 7}, 1)), Error);
}

TEST(Layout, NchwRoundTrip) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 64);  // NCHW
  const Tensor y = ops::nchw_to_nhwc(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 5, 3}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t hw = 0; hw < 20; ++hw) ASSERT_EQ(y.f32()[(n * 20 + hw) * 3 + c], x.f32()[(n * 3 + c) * 20 + hw]);
  EXPECT_EQ(compare(ops::nhwc_to_nchw(y), x).max_abs, 0.0);
  EXPECT_EQ(ops::nhwc_to_nchw(y).shape(), x.shape());
}

}  // namespace
}  // namespace sdwalk::test
