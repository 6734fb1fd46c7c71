#include <gtest/gtest.h>

#include <cmath>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {

struct GifCase {
  double duration_ms;
  int loop;
};

class GifTiming : public ::testing::TestWithParam<GifCase> {};

TEST_P(GifTiming, CarriesDelayLoopSizeAndLocalPalettes) {
  test::ScratchDir dir;
  const auto frames = test::synthetic_frames(40, 24, 4);
  AnimationOptions options;
  options.frame_duration_ms = GetParam().duration_ms;
  options.loop = GetParam().loop;
  auto sink = make_frame_sink(AnimationFormat::Gif, dir / "a.gif", options);
  for (const auto& f : frames) sink->add(f);
  sink->finish();
  const auto gif = test::decode_gif(dir / "a.gif");
  EXPECT_EQ(gif.width, 40);
  EXPECT_EQ(gif.height, 24);
  EXPECT_EQ(gif.frames.size(), frames.size());
  EXPECT_EQ(gif.loop, GetParam().loop) << "NETSCAPE2.0 loop extension";
  const int cs = int(std::lround(GetParam().duration_ms / 10));
  EXPECT_EQ(gif.delays_cs, std::vector<int>(frames.size(), cs));
  EXPECT_TRUE(gif.all_frames_full);
}

INSTANTIATE_TEST_SUITE_P(Output, GifTiming,
                         ::testing::Values(GifCase{100, 0}, GifCase{250, 3}, GifCase{1000.0 / 30, 1}),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(Gif, QuantisedGradientStaysCloseWithDithering) {
  // A smooth 3-channel gradient has far more than 256 colours: the palette + dithering must keep the
  // mean error small.
  test::ScratchDir dir;
  Image im;
  im.width = 96;
  im.height = 64;
  im.rgb.resize(size_t(im.width) * im.height * 3);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) {
      uint8_t* p = &im.rgb[(size_t(y) * im.width + x) * 3];
      p[0] = uint8_t(x * 255 / (im.width - 1));
      p[1] = uint8_t(y * 255 / (im.height - 1));
      p[2] = uint8_t((x + y) * 255 / (im.width + im.height - 2));
    }
  auto sink = make_frame_sink(AnimationFormat::Gif, dir / "g.gif", {});
  sink->add(im);
  sink->finish();
  const auto gif = test::decode_gif(dir / "g.gif");
  ASSERT_EQ(gif.frames.size(), 1u);
  const double err = test::mean_abs_error(gif.frames[0], im);
  EXPECT_LT(err, 8.0);
  RecordProperty("mean_abs_error", std::to_string(err));
  std::cout << "[ gif ] gradient mean |error| = " << err << " / 255\n";
}

}  // namespace
}  // namespace sdwalk
