// An animation in memory is the file the path sink writes, byte for byte, and leaves nothing on disk.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

using test::ScratchDir;

std::vector<uint8_t> file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Points $TMPDIR (where the memory sink works) at a scratch folder for one test.
class TmpDirAt {
 public:
  explicit TmpDirAt(const std::filesystem::path& p) {
    if (const char* old = ::getenv("TMPDIR")) old_ = old, had_ = true;
    ::setenv("TMPDIR", p.c_str(), 1);
  }
  ~TmpDirAt() { had_ ? ::setenv("TMPDIR", old_.c_str(), 1) : ::unsetenv("TMPDIR"); }

 private:
  std::string old_;
  bool had_ = false;
};

class MemorySink : public ::testing::TestWithParam<AnimationFormat> {};

TEST_P(MemorySink, HoldsTheBytesTheFileSinkWrites) {
  for (const bool ping_pong : {false, true}) {
    ScratchDir out, tmp;
    const TmpDirAt at(tmp.path());
    const auto frames = test::synthetic_frames(40, 24, 4);
    AnimationOptions options;
    options.ping_pong = ping_pong;
    options.text["sdwalk"] = "{}";
    const auto path = out / ("walk." + extension_of(GetParam()));
    auto file_sink = make_frame_sink(GetParam(), path, options);
    std::vector<uint8_t> bytes;
    auto memory_sink = make_memory_frame_sink(GetParam(), bytes, options);
    for (const auto& f : frames) {
      file_sink->add(f);
      memory_sink->add(f);
    }
    file_sink->finish();
    EXPECT_TRUE(bytes.empty()) << "filled before finish()";
    memory_sink->finish();
    EXPECT_EQ(bytes, file_bytes(path)) << "ping-pong " << ping_pong;
    memory_sink.reset();
    EXPECT_TRUE(tmp.entries().empty()) << "left " << tmp.entries().size() << " entries in $TMPDIR";
  }
}

TEST_P(MemorySink, LeavesNothingWhenNotFinished) {
  ScratchDir tmp;
  const TmpDirAt at(tmp.path());
  std::vector<uint8_t> bytes;
  {
    auto sink = make_memory_frame_sink(GetParam(), bytes, AnimationOptions{});
    sink->add(test::synthetic_frame(16, 16, 0));
  }
  EXPECT_TRUE(bytes.empty());
  EXPECT_TRUE(tmp.entries().empty());
}

INSTANTIATE_TEST_SUITE_P(Output, MemorySink,
                         ::testing::Values(AnimationFormat::Gif, AnimationFormat::WebP, AnimationFormat::Mp4,
                                           AnimationFormat::WebM),
                         [](const auto& info) { return extension_of(info.param); });

TEST(MemorySinkFormats, PngFramesAreRefused) {
  std::vector<uint8_t> bytes;
  try {
    make_memory_frame_sink(AnimationFormat::PngFrames, bytes, AnimationOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gif, webp, mp4 or webm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sdwalk
