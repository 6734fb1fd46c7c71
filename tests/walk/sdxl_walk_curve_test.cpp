// SDXL's added conditioning along a walk (with_added_cond, through plan_uniform and frame_at): the
// pooled embeddings of prompt and negative go with the token embeddings (the same t, the same
// interpolation), the 6 time ids are lerped, and the keyframes keep their own values bit for bit.
#include <gtest/gtest.h>

#include <random>

#include "sdwalk/walk.hpp"
#include "sdwalk/walk_curve.hpp"
#include "common/gaussian.hpp"

namespace sdwalk {
namespace {

using test::gaussian;

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

// Two keyframes: the fixture's default and "negative sizes" add_time_ids (expected/sdxl/unet rows).
WalkCurve keyframes_curve(Interp interp) {
  WalkCurve c;
  c.kind = CurveKind::Keyframes;
  c.embed_interp = interp;
  c.noise_interp = Interp::Slerp;
  for (unsigned k = 0; k < 2; ++k)
    c.keys.push_back({gaussian({1, 77, 8}, 10 + k), gaussian({1, 77, 8}, 20 + k), gaussian({1, 4, 8, 8}, 30 + k),
                      int64_t(k), 5});
  c.pooled = {gaussian({1, 6}, 40), gaussian({1, 6}, 41)};
  c.unpooled = {gaussian({1, 6}, 50), gaussian({1, 6}, 51)};
  c.time_ids = {Tensor::from_vector({1, 6}, {64, 64, 0, 0, 64, 64}), Tensor::from_vector({1, 6}, {96, 80, 8, 4, 64, 64})};
  return c;
}

TEST(SdxlWalkCurve, KeyframesCarryPooledAndTimeIds) {
  for (const Interp interp : {Interp::Slerp, Interp::Lerp}) {
    const WalkCurve c = keyframes_curve(interp);
    const std::vector<Frame> frames = plan_uniform(c);
    ASSERT_EQ(frames.size(), 5u);
    // The keyframes themselves, bit for bit.
    EXPECT_EQ(values(frames[0].pooled), values(c.pooled[0]));
    EXPECT_EQ(values(frames[0].uncond_pooled), values(c.unpooled[0]));
    EXPECT_EQ(values(frames[0].time_ids), values(c.time_ids[0]));
    EXPECT_EQ(values(frames[4].pooled), values(c.pooled[1]));
    EXPECT_EQ(values(frames[4].uncond_pooled), values(c.unpooled[1]));
    EXPECT_EQ(values(frames[4].time_ids), values(c.time_ids[1]));
    // Between: the embeddings' interpolation at the frame's t, for the pooled pair too.
    for (size_t i = 1; i < 4; ++i) {
      const double t = frames[i].t;
      const auto mix = [&](const Tensor& a, const Tensor& b) {
        return values(interp == Interp::Slerp ? slerp(t, a, b) : lerp(t, a, b));
      };
      EXPECT_EQ(values(frames[i].cond), mix(c.keys[0].cond, c.keys[1].cond)) << "t " << t;
      EXPECT_EQ(values(frames[i].pooled), mix(c.pooled[0], c.pooled[1])) << "t " << t;
      EXPECT_EQ(values(frames[i].uncond_pooled), mix(c.unpooled[0], c.unpooled[1])) << "t " << t;
      EXPECT_EQ(values(frames[i].time_ids), values(lerp(t, c.time_ids[0], c.time_ids[1]))) << "t " << t;
    }
    // Halfway the 6 ids are the midpoints (exact in float32).
    EXPECT_EQ(values(frames[2].time_ids), (std::vector<float>{80, 72, 4, 2, 64, 64}));
    // frame_at gives the planner's frames at the planner's positions.
    const Frame mid = frame_at(c, 0, 0.5);
    EXPECT_EQ(values(mid.pooled), values(frames[2].pooled));
    EXPECT_EQ(values(mid.time_ids), values(frames[2].time_ids));
  }
}

TEST(SdxlWalkCurve, PromptsWalkSlerpsThePooledEmbeddings) {
  WalkCurve c;
  c.kind = CurveKind::Prompts;
  c.frames = 4;
  c.conds = {gaussian({1, 77, 8}, 1), gaussian({1, 77, 8}, 2), gaussian({1, 77, 8}, 3)};
  c.unconds = {gaussian({1, 77, 8}, 4), gaussian({1, 77, 8}, 5), gaussian({1, 77, 8}, 6)};
  c.noise = gaussian({1, 4, 8, 8}, 7);
  c.pooled = {gaussian({1, 6}, 8), gaussian({1, 6}, 9), gaussian({1, 6}, 10)};
  c.unpooled = {gaussian({1, 6}, 11), gaussian({1, 6}, 12), gaussian({1, 6}, 13)};
  const Tensor ids = Tensor::from_vector({1, 6}, {64, 64, 0, 0, 64, 64});
  c.time_ids = {ids, ids, ids};
  const std::vector<Frame> frames = plan_uniform(c);
  ASSERT_EQ(frames.size(), 8u);  // two pairs of 4, not seamless
  for (const Frame& f : frames) {
    const size_t seg = f.t >= 1 ? 1 : 0;
    const double t = f.t - double(seg);
    const std::vector<float> want =
        t == 0 ? values(c.pooled[seg]) : t == 1 ? values(c.pooled[seg + 1]) : values(slerp(t, c.pooled[seg], c.pooled[seg + 1]));
    EXPECT_EQ(values(f.pooled), want) << "t " << f.t;
    EXPECT_EQ(values(f.time_ids), values(ids));
  }
  EXPECT_EQ(values(frames[3].pooled), values(c.pooled[1])) << "the end of the first pair is prompt 1's";
}

TEST(SdxlWalkCurve, OnePromptWalksKeepThePromptsConditioning) {
  WalkCurve c;
  c.kind = CurveKind::Noise;
  c.frames = 3;
  c.conds = {gaussian({1, 77, 8}, 1)};
  c.unconds = {gaussian({1, 77, 8}, 2)};
  c.noise = gaussian({2, 4, 8, 8}, 3);
  c.pooled = {gaussian({1, 6}, 4)};
  c.unpooled = {gaussian({1, 6}, 5)};
  c.time_ids = {Tensor::from_vector({1, 6}, {96, 80, 8, 4, 64, 64})};
  for (const Frame& f : plan_uniform(c)) {
    EXPECT_EQ(values(f.pooled), values(c.pooled[0]));
    EXPECT_EQ(values(f.uncond_pooled), values(c.unpooled[0]));
    EXPECT_EQ(values(f.time_ids), values(c.time_ids[0]));
  }
}

TEST(SdxlWalkCurve, WithoutConditioningFramesHaveNone) {
  WalkCurve c = keyframes_curve(Interp::Slerp);
  c.pooled.clear();
  c.unpooled.clear();
  c.time_ids.clear();
  for (const Frame& f : plan_uniform(c)) EXPECT_FALSE(f.pooled.defined() || f.time_ids.defined());
}

}  // namespace
}  // namespace sdwalk
