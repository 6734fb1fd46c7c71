// Fused attention against a double-precision full-matrix reference.
#include <gtest/gtest.h>

#include "backend/reference.hpp"
#include "common/compare.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

struct AttnCase {
  int64_t b, tq, tk;
  int heads;
  int64_t d;
  bool causal;
};

class AttentionTest : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionTest, MatchesReference) {
  const AttnCase c = GetParam();
  const int64_t hd = c.heads * c.d;
  // Scaled so the softmax is peaked (large logits) in places, as with SD's q/k.
  const Tensor q = random_tensor({c.b, c.tq, hd}, 71, 2.0f);
  const Tensor k = random_tensor({c.b, c.tk, hd}, 72, 2.0f);
  const Tensor v = random_tensor({c.b, c.tk, hd}, 73);
  const Tensor ref = attention_ref(q, k, v, c.heads, c.causal);
  // Every ISA path this CPU can run (test-backend-ops' habit), at 1 and 2 threads.
  const ops::Isa chosen = ops::isa();
  for (ops::Isa isa : ops::supported_isas())
    for (int threads : {1, 2}) {
      ops::set_isa(isa);
      ops::set_threads(threads);
      const Tensor o = ops::attention(q, k, v, c.heads, c.causal);
      ASSERT_EQ(o.shape(), ref.shape());
      EXPECT_LE(compare(o, ref).rel(), 2e-6) << compare(o, ref).str() << " " << ops::isa_name(isa) << ", threads "
                                            << threads;
    }
  ops::set_isa(chosen);
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionTest,
                         ::testing::Values(AttnCase{2, 77, 77, 4, 8, true},      // CLIP text encoder
                                           AttnCase{2, 256, 77, 8, 4, false},    // mini UNet cross-attention
                                           AttnCase{2, 256, 256, 8, 4, false},   // mini UNet self-attention
                                           AttnCase{1, 300, 300, 1, 40, false},  // several tiles, ragged ends
                                           AttnCase{1, 50, 200, 2, 40, true},    // causal with Tq != Tk
                                           AttnCase{1, 1, 5, 1, 3, false},
                                           // >= 1024 queries: K and V repacked per head first
                                           AttnCase{2, 1030, 70, 3, 40, false},
                                           AttnCase{1, 1024, 1024, 2, 8, true}));

// bf16 q/k/v (what bf16 linear layers write): the bf16 kernel where the CPU has AVX512_BF16, else the
// f32 kernel on the widened values. Compared with the double reference on the same rounded inputs;
// the error left is the bf16 rounding of the scaled queries and of the softmax numerators.
class AttentionBf16Test : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionBf16Test, MatchesReferenceOfRoundedInputs) {
  const AttnCase c = GetParam();
  const int64_t hd = c.heads * c.d;
  const Tensor q = ops::to_bf16(random_tensor({c.b, c.tq, hd}, 81, 2.0f));
  const Tensor k = ops::to_bf16(random_tensor({c.b, c.tk, hd}, 82, 2.0f));
  const Tensor v = ops::to_bf16(random_tensor({c.b, c.tk, hd}, 83));
  const Tensor ref = attention_ref(q.to_f32(), k.to_f32(), v.to_f32(), c.heads, false);
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    const Tensor o = ops::attention(q, k, v, c.heads, false);
    ASSERT_EQ(o.shape(), ref.shape());
    EXPECT_EQ(o.dtype(), DType::F32);
    EXPECT_LE(compare(o, ref).rel(), 3e-3) << compare(o, ref).str() << " threads " << threads;
    const Tensor ob = ops::attention(q, k, v, c.heads, false, DType::BF16);
    EXPECT_EQ(ob.dtype(), DType::BF16);
    EXPECT_LE(compare(ob.to_f32(), ref).rel(), 6e-3) << compare(ob.to_f32(), ref).str();
    if (threads == 1) std::printf("[ measured ] bf16 attention: %s\n", compare(o, ref).str().c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionBf16Test,
                         ::testing::Values(AttnCase{2, 256, 77, 8, 40, false},   // SD cross-attention, odd keys
                                           AttnCase{1, 300, 300, 2, 40, false},  // ragged query and key tiles
                                           AttnCase{1, 130, 129, 1, 512, false}, // the VAE's one wide head
                                           AttnCase{2, 64, 1, 1, 2, false}));    // one key

TEST(Attention, RejectsMismatchedShapes) {
  const Tensor q = random_tensor({1, 4, 8}, 1);
  EXPECT_THROW(ops::attention(q, random_tensor({1, 4, 6}, 2), random_tensor({1, 4, 6}, 3), 2), Error);
  EXPECT_THROW(ops::attention(q, q, q, 3), Error);
}

}  // namespace
}  // namespace sdwalk::test
