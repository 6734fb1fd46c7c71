// The cookbook walks' real frames (expected/interpolation/*.safetensors) through every format:
// frame count and every frame as a viewer decodes it, against round(frame * 255). The tiny model's
// frames are noise-like, the worst case for palettes and 4:2:0 video: per pixel the error is large,
// so lossy formats are held to 4x4 tile averages (which dithering and chroma subsampling keep), and
// WebP is written lossless (lossy WebP merges frames that differ by less than its tolerance).
#include <gtest/gtest.h>

#include "common/fixtures.hpp"
#include "output_testing.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

class FixtureWalks : public ::testing::TestWithParam<AnimationFormat> {};

TEST_P(FixtureWalks, EveryWalkDecodesToItsFrames) {
  const auto files = test::fixture_files("expected/interpolation", "", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no walks in " << test::fixture("expected/interpolation");
  for (const auto& file : files) {
    const SafeTensors st = SafeTensors::open(file);
    if (!st.contains("frames")) continue;
    const Tensor all = st.get_f32("frames");
    std::vector<Image> frames;
    for (int64_t i = 0; i < all.dim(0); ++i) frames.push_back(image_from_float(all.slice0(i, i + 1)));
    test::ScratchDir dir;
    const auto path = GetParam() == AnimationFormat::PngFrames ? dir / "frames" : dir / ("walk." + extension_of(GetParam()));
    AnimationOptions options;
    options.lossless = true;
    options.quality = 10;  // for lossless: effort, not fidelity (noise takes seconds at 90)
    options.text = {{"sdwalk", st.metadata().count("prompt") ? st.metadata().at("prompt") : "{}"}};
    auto sink = make_frame_sink(GetParam(), path, options);
    for (const auto& f : frames) sink->add(f);
    sink->finish();
    const auto decoded = test::decode_frames(GetParam(), path, options.frame_duration_ms);
    ASSERT_EQ(decoded.size(), frames.size()) << file;
    const bool exact = GetParam() == AnimationFormat::PngFrames || GetParam() == AnimationFormat::WebP;
    double worst = 0, worst_pixel = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      worst = std::max(worst, test::block_mean_abs_error(decoded[i], frames[i], 4));
      worst_pixel = std::max(worst_pixel, test::mean_abs_error(decoded[i], frames[i]));
    }
    EXPECT_LE(exact ? worst_pixel : worst, exact ? 0.0 : 4.0) << file;
    std::cout << "[ " << extension_of(GetParam()) << " ] " << file.filename().string() << ": " << frames.size()
              << " frames, worst mean |error| per pixel " << worst_pixel << ", of 4x4 tiles " << worst
              << " (/255)\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Output, FixtureWalks,
                         ::testing::Values(AnimationFormat::Gif, AnimationFormat::WebP, AnimationFormat::Mp4,
                                           AnimationFormat::WebM, AnimationFormat::PngFrames),
                         [](const auto& info) { return extension_of(info.param); });

}  // namespace
}  // namespace sdwalk
