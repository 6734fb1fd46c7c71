#include <gtest/gtest.h>

#include <cmath>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {

struct WebPCase {
  double duration_ms;
  int loop;
  bool lossless;
};

class WebPTiming : public ::testing::TestWithParam<WebPCase> {};

TEST_P(WebPTiming, CarriesFramesTimestampsLoopAndSize) {
  test::ScratchDir dir;
  const auto frames = test::synthetic_frames(40, 24, 4);
  AnimationOptions options;
  options.frame_duration_ms = GetParam().duration_ms;
  options.loop = GetParam().loop;
  options.lossless = GetParam().lossless;
  auto sink = make_frame_sink(AnimationFormat::WebP, dir / "a.webp", options);
  for (const auto& f : frames) sink->add(f);
  sink->finish();
  const auto webp = test::decode_webp(dir / "a.webp");
  EXPECT_EQ(webp.width, 40);
  EXPECT_EQ(webp.height, 24);
  EXPECT_EQ(webp.loop, GetParam().loop);
  EXPECT_EQ(webp.frame_count, int(frames.size()));
  ASSERT_EQ(webp.frames.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(webp.end_timestamps_ms[i], int(std::llround(double(i + 1) * GetParam().duration_ms))) << i;
    const double err = test::mean_abs_error(webp.frames[i], frames[i]);
    if (GetParam().lossless)
      EXPECT_EQ(err, 0) << i;
    else
      EXPECT_LT(err, 8) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Output, WebPTiming,
                         ::testing::Values(WebPCase{100, 0, false}, WebPCase{250, 2, true},
                                           WebPCase{1000.0 / 30, 0, false}),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace sdwalk
