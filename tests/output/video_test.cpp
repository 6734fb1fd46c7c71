#include <gtest/gtest.h>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {

struct VideoCase {
  AnimationFormat format;
  int width, height;
  double duration_ms;
};

class Video : public ::testing::TestWithParam<VideoCase> {};

TEST_P(Video, CarriesFramesRateSizeCodecAndSettings) {
  const VideoCase c = GetParam();
  test::ScratchDir dir;
  const auto path = dir / ("v." + extension_of(c.format));
  const auto frames = test::synthetic_frames(c.width, c.height, 6);
  AnimationOptions options;
  options.frame_duration_ms = c.duration_ms;
  options.text = {{"sdwalk", "{\"seed\": 42, \"prompt\": \"a dog\"}"}};
  auto sink = make_frame_sink(c.format, path, options);
  for (const auto& f : frames) sink->add(f);
  sink->finish();
  const auto v = test::decode_video(path);
  EXPECT_EQ(v.codec, c.format == AnimationFormat::Mp4 ? "h264" : "vp9");
  EXPECT_NE(v.container.find(c.format == AnimationFormat::Mp4 ? "mp4" : "webm"), std::string::npos) << v.container;
  const int w = (c.width + 1) & ~1, h = (c.height + 1) & ~1;  // odd sizes are padded
  EXPECT_EQ(v.width, w);
  EXPECT_EQ(v.height, h);
  EXPECT_NEAR(v.frame_rate, 1000.0 / c.duration_ms, 1e-3);
  ASSERT_EQ(v.frames.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    Image cropped;  // the padding is not part of the picture
    cropped.width = c.width;
    cropped.height = c.height;
    for (int y = 0; y < c.height; ++y)
      cropped.rgb.insert(cropped.rgb.end(), v.frames[i].rgb.begin() + size_t(y) * w * 3,
                         v.frames[i].rgb.begin() + (size_t(y) * w + c.width) * 3);
    const double err = test::mean_abs_error(cropped, frames[i]);
    EXPECT_LT(err, 8) << "frame " << i;
    EXPECT_EQ(test::closest_frame(cropped, frames), int(i));
  }
  bool found = false;
  for (const auto& [key, value] : v.metadata)
    if (key == "sdwalk" || key == "SDWALK") found = value == options.text.at("sdwalk");
  EXPECT_TRUE(found) << "settings tag missing from " << path;
}

INSTANTIATE_TEST_SUITE_P(Output, Video,
                         ::testing::Values(VideoCase{AnimationFormat::Mp4, 48, 32, 100},
                                           VideoCase{AnimationFormat::Mp4, 37, 21, 1000.0 / 30},
                                           VideoCase{AnimationFormat::WebM, 48, 32, 100},
                                           VideoCase{AnimationFormat::WebM, 37, 21, 40}),
                         [](const auto& info) {
                           return extension_of(info.param.format) + "_" + std::to_string(info.param.width) + "x" +
                                  std::to_string(info.param.height);
                         });

}  // namespace
}  // namespace sdwalk
