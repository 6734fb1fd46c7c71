// fp16 weight storage (WeightStorage::F16): the widening kernel on every ISA path, and layers whose
// weights are kept in fp16 giving exactly what the same (fp16-rounded) weights give in f32.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "backend/cpu/half_weights.hpp"
#include "backend/reference.hpp"
#include "core/half.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

Tensor rounded_to_half(const Tensor& x) { return x.to(DType::F16).to_f32(); }

class IsaRestorer : public ::testing::Test {
 protected:
  void TearDown() override { ops::set_isa(saved_); }
  ops::Isa saved_ = ops::isa();
};

using HalfWidening = IsaRestorer;

TEST_F(HalfWidening, EveryHalfValueWidensExactlyOnEveryPath) {
  std::vector<uint16_t> all(65536 + 13);  // and a tail that no vector width divides
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
  for (ops::Isa isa : ops::supported_isas()) {
    std::vector<float> out(all.size());
    ops::detail::half_to_float_on(isa, all.data(), out.data(), int64_t(all.size()));
    int wrong = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const float want = half_to_float(all[i]);
      const bool ok = std::isnan(want) ? std::isnan(out[i]) : std::bit_cast<uint32_t>(out[i]) == std::bit_cast<uint32_t>(want);
      wrong += !ok;
    }
    EXPECT_EQ(wrong, 0) << ops::isa_name(isa);
  }
}

using HalfStorage = IsaRestorer;

TEST_F(HalfStorage, ConvWithFp16WeightsEqualsF32ConvOfTheRoundedWeights) {
  const Tensor x = random_tensor({2, 9, 7, 16}, 1);
  const Tensor w = random_tensor({24, 16, 3, 3}, 2, 0.3f);
  const Tensor b = random_tensor({24}, 3);
  const Tensor r = random_tensor({2, 9, 7, 24}, 4);
  const ops::Conv2d f32(rounded_to_half(w), b, 1, 1, Precision::F32, WeightStorage::F32);
  ASSERT_FALSE(f32.weights_in_f16());
  for (ops::Isa isa : ops::supported_isas()) {
    ops::set_isa(isa);
    for (int threads : {1, 2}) {
      ops::set_threads(threads);
      const ops::Conv2d half(w, b, 1, 1, Precision::F32, WeightStorage::F16);
      ASSERT_TRUE(half.weights_in_f16());
      EXPECT_TRUE(bit_equal(half.forward(x), f32.forward(x))) << ops::isa_name(isa) << " threads " << threads;
      EXPECT_TRUE(bit_equal(half.forward(x, &r), f32.forward(x, &r))) << "residual, " << ops::isa_name(isa);
      // A second input size (a primitive of its own, maybe wanting another weights layout).
      const Tensor x2 = random_tensor({1, 33, 31, 16}, 5);
      EXPECT_TRUE(bit_equal(half.forward(x2), f32.forward(x2))) << "33x31, " << ops::isa_name(isa);
    }
  }
  ops::set_threads(0);
}

TEST_F(HalfStorage, AutoKeepsFp16CheckpointsInFp16AndF32OnesInF32) {
  const Tensor w = random_tensor({8, 4, 3, 3}, 6, 0.3f);
  const Tensor b = random_tensor({8}, 7);
  const ops::Conv2d from_f16(w.to(DType::F16), b, 1, 1, Precision::F32, WeightStorage::Auto);
  const ops::Conv2d from_f32(w, b, 1, 1, Precision::F32, WeightStorage::Auto);
  EXPECT_TRUE(from_f16.weights_in_f16());
  EXPECT_FALSE(from_f32.weights_in_f16());
  // Exact: the fp16 checkpoint's layer computes what an f32 layer of the same weights does.
  const ops::Conv2d widened(w.to(DType::F16).to_f32(), b, 1, 1, Precision::F32, WeightStorage::F32);
  const Tensor x = random_tensor({1, 6, 5, 4}, 8);
  EXPECT_TRUE(bit_equal(from_f16.forward(x), widened.forward(x)));
  EXPECT_FALSE(ops::Conv2d(w, b, 1, 1, Precision::F32, WeightStorage::F32).weights_in_f16());
}

TEST_F(HalfStorage, LinearWithFp16WeightsEqualsF32LinearOfTheRoundedWeights) {
  const Tensor x = random_tensor({3, 77, 64}, 9);
  const Tensor w = random_tensor({96, 64}, 10, 0.2f);
  const Tensor b = random_tensor({96}, 11);
  const Tensor r = random_tensor({3, 77, 96}, 12);
  const ops::Linear f32(rounded_to_half(w), b, Precision::F32, WeightStorage::F32);
  for (ops::Isa isa : ops::supported_isas()) {
    ops::set_isa(isa);
    const ops::Linear half(w, b, Precision::F32, WeightStorage::F16);
    ASSERT_TRUE(half.weights_in_f16());
    EXPECT_TRUE(bit_equal(half.forward(x), f32.forward(x))) << ops::isa_name(isa);
    EXPECT_TRUE(bit_equal(half.forward(x, &r), f32.forward(x, &r))) << "residual, " << ops::isa_name(isa);
  }
}

}  // namespace
}  // namespace sdwalk::test
