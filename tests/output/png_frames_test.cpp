#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(PngFrames, WritesNumberedFramesExactlyWithTheSettingsText) {
  test::ScratchDir dir;
  const auto frames = test::synthetic_frames(33, 17, 3);
  AnimationOptions options;
  options.text = {{"sdwalk", "{\"mode\": \"circle\", \"seed\": 42}"}};
  auto sink = make_frame_sink(AnimationFormat::PngFrames, dir / "run" / "frames", options);  // folders created
  for (const auto& f : frames) sink->add(f);
  sink->finish();
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir / "run" / "frames"))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"frame_000000.png", "frame_000001.png", "frame_000002.png"}));
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto p = dir / "run" / "frames" / frame_file_name(int64_t(i));
    EXPECT_EQ(read_png(p).rgb, frames[i].rgb);
    EXPECT_EQ(read_png_text(p), options.text);
  }
}

TEST(PngFrames, PingPongCopiesTheFrameFiles) {
  test::ScratchDir dir;
  AnimationOptions options;
  options.ping_pong = true;
  auto sink = make_frame_sink(AnimationFormat::PngFrames, dir / "f", options);
  for (const auto& f : test::synthetic_frames(16, 16, 4)) sink->add(f);
  sink->finish();
  const std::vector<int> source = {0, 1, 2, 3, 2, 1};
  for (size_t i = 0; i < source.size(); ++i)
    EXPECT_EQ(bytes_of(dir / "f" / frame_file_name(int64_t(i))), bytes_of(dir / "f" / frame_file_name(source[i])));
  EXPECT_FALSE(std::filesystem::exists(dir / "f" / frame_file_name(6)));
}

}  // namespace
}  // namespace sdwalk
