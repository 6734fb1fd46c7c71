// What every FrameSink must do, whatever the format: frames in order, ping-pong, atomic files,
// clear errors naming the path, nothing half-written left behind.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <random>

#include "output_testing.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

using test::ScratchDir;

std::filesystem::path output_in(const ScratchDir& dir, AnimationFormat f) {
  return f == AnimationFormat::PngFrames ? dir / "frames" : dir / ("walk." + extension_of(f));
}

std::vector<std::string> hidden_entries(const ScratchDir& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    if (e.path().filename().string().starts_with(".")) out.push_back(e.path().string());
  return out;
}

class EveryFormat : public ::testing::TestWithParam<AnimationFormat> {};

TEST_P(EveryFormat, WritesEveryFrameInOrderAtTheirSize) {
  ScratchDir dir;
  const auto frames = test::synthetic_frames(48, 32, 5);
  const auto path = output_in(dir, GetParam());
  AnimationOptions options;
  auto sink = make_frame_sink(GetParam(), path, options);
  for (const auto& f : frames) sink->add(f);
  sink->finish();
  EXPECT_EQ(dir.entries(), std::vector<std::string>{path.filename().string()});  // no temporaries
  const auto decoded = test::decode_frames(GetParam(), path, options.frame_duration_ms);
  ASSERT_EQ(decoded.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(decoded[i].width, 48);
    EXPECT_EQ(decoded[i].height, 32);
    const double err = test::mean_abs_error(decoded[i], frames[i]);
    EXPECT_LE(err, test::lossy_tolerance(GetParam())) << "frame " << i;
    EXPECT_EQ(test::closest_frame(decoded[i], frames), int(i));
    RecordProperty("mean_abs_error_frame_" + std::to_string(i), std::to_string(err));
  }
}

TEST_P(EveryFormat, PingPongGoesForwardThenBackWithoutRepeatingTheEnds) {
  for (int n : {1, 2, 5}) {
    ScratchDir dir;
    const auto frames = test::synthetic_frames(32, 32, n);
    const auto path = output_in(dir, GetParam());
    AnimationOptions options;
    options.ping_pong = true;
    auto sink = make_frame_sink(GetParam(), path, options);
    for (const auto& f : frames) sink->add(f);
    sink->finish();
    EXPECT_EQ(dir.entries(), std::vector<std::string>{path.filename().string()}) << "spill folder left";
    const auto decoded = test::decode_frames(GetParam(), path, options.frame_duration_ms);
    std::vector<int> expected;
    for (int i = 0; i < n; ++i) expected.push_back(i);
    for (int i = n - 2; i >= 1; --i) expected.push_back(i);
    std::vector<int> got;
    for (const auto& d : decoded) got.push_back(test::closest_frame(d, frames));
    EXPECT_EQ(got, expected) << "n = " << n;
    EXPECT_EQ(decoded.size(), size_t(n == 1 ? 1 : 2 * n - 2));
  }
}

TEST_P(EveryFormat, DroppedWithoutFinishLeavesNoFile) {
  for (bool ping_pong : {false, true}) {
    ScratchDir dir;
    AnimationOptions options;
    options.ping_pong = ping_pong;
    {
      auto sink = make_frame_sink(GetParam(), output_in(dir, GetParam()), options);
      for (const auto& f : test::synthetic_frames(32, 32, 3)) sink->add(f);
    }
    EXPECT_TRUE(hidden_entries(dir).empty());
    if (GetParam() == AnimationFormat::PngFrames) {  // complete frames stay, for resume
      EXPECT_EQ(test::decode_frames(GetParam(), dir / "frames", 100).size(), 3u);
    } else {
      EXPECT_TRUE(dir.entries().empty()) << "ping_pong = " << ping_pong;
    }
  }
}

TEST_P(EveryFormat, UnwritablePathFailsAtOnceNamingIt) {
  ScratchDir dir;
  std::ofstream(dir / "a-file") << "x";
  // A missing folder for a file; a frames folder is created, so for it: a path through a file.
  std::vector<std::filesystem::path> bad = {GetParam() == AnimationFormat::PngFrames
                                                ? dir / "a-file" / "frames"
                                                : dir / "missing" / output_in(dir, GetParam()).filename()};
  if (::geteuid() != 0) {  // root writes through permissions
    std::filesystem::create_directory(dir / "read-only");
    std::filesystem::permissions(dir / "read-only", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    bad.push_back(dir / "read-only" / output_in(dir, GetParam()).filename());
  }
  for (const auto& path : bad) {
    try {
      make_frame_sink(GetParam(), path, {});
      ADD_FAILURE() << "accepted " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(hidden_entries(dir).empty());
  std::error_code ec;  // let ScratchDir remove it
  std::filesystem::permissions(dir / "read-only", std::filesystem::perms::owner_all, ec);
}

// A full disk, played by RLIMIT_FSIZE: writes past 1 KiB fail with EFBIG.
TEST_P(EveryFormat, FullDiskIsAnErrorAndLeavesNoTemporary) {
  ScratchDir dir;
  std::mt19937 rng(11);
  std::vector<Image> frames;
  for (int i = 0; i < 6; ++i) {
    Image im;
    im.width = im.height = 64;
    im.rgb.resize(64 * 64 * 3);
    for (auto& v : im.rgb) v = uint8_t(rng());  // noise: no format packs it into 1 KiB
    frames.push_back(im);
  }
  const auto path = output_in(dir, GetParam());
  for (bool ping_pong : {false, true}) {
    AnimationOptions options;
    options.ping_pong = ping_pong;
    std::string error;
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 1024;
    ::setrlimit(RLIMIT_FSIZE, &small);
    try {
      auto sink = make_frame_sink(GetParam(), path, options);
      for (const auto& f : frames) sink->add(f);
      sink->finish();
    } catch (const Error& e) {
      error = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_FALSE(error.empty()) << "no error writing past the limit";
    EXPECT_NE(error.find(dir.path().string()), std::string::npos) << error;
    EXPECT_TRUE(hidden_entries(dir).empty());
    if (GetParam() != AnimationFormat::PngFrames) {
      EXPECT_TRUE(dir.entries().empty());
    }
  }
}

TEST_P(EveryFormat, RejectsFramesOfAnotherSizeAndEmptyAnimations) {
  ScratchDir dir;
  auto sink = make_frame_sink(GetParam(), output_in(dir, GetParam()), {});
  EXPECT_THROW(sink->finish(), Error);  // no frames
  sink->add(test::synthetic_frame(48, 32, 0));
  try {
    sink->add(test::synthetic_frame(32, 48, 1));
    ADD_FAILURE() << "accepted a 32x48 frame after a 48x32 one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected 48x32"), std::string::npos) << e.what();
  }
  sink->finish();
  EXPECT_THROW(sink->add(test::synthetic_frame(48, 32, 1)), Error);
}

TEST_P(EveryFormat, NoClobberKeepsAnExistingFile) {
  ScratchDir dir;
  const auto path = output_in(dir, GetParam());
  const bool folder = GetParam() == AnimationFormat::PngFrames;
  const auto existing = folder ? path / frame_file_name(0) : path;
  if (folder) std::filesystem::create_directory(path);
  std::ofstream(existing) << "keep";
  AnimationOptions options;
  options.no_clobber = true;
  try {
    auto sink = make_frame_sink(GetParam(), path, options);
    sink->add(test::synthetic_frame(32, 32, 0));
    sink->finish();
    ADD_FAILURE() << "replaced " << existing;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  std::ifstream in(existing);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "keep");
  EXPECT_TRUE(hidden_entries(dir).empty());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{path.filename().string()});
}

INSTANTIATE_TEST_SUITE_P(Output, EveryFormat,
                         ::testing::Values(AnimationFormat::Gif, AnimationFormat::WebP, AnimationFormat::Mp4,
                                           AnimationFormat::WebM, AnimationFormat::PngFrames),
                         [](const auto& info) { return extension_of(info.param); });

TEST(MakeFrameSink, RejectsBadOptionsNamingThem) {
  ScratchDir dir;
  AnimationOptions zero_duration, bad_loop, bad_quality;
  zero_duration.frame_duration_ms = 0;
  bad_loop.loop = -1;
  bad_quality.quality = 101;
  EXPECT_THROW(make_frame_sink(AnimationFormat::Gif, dir / "a.gif", zero_duration), Error);
  EXPECT_THROW(make_frame_sink(AnimationFormat::Gif, dir / "a.gif", bad_loop), Error);
  EXPECT_THROW(make_frame_sink(AnimationFormat::WebP, dir / "a.webp", bad_quality), Error);
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace sdwalk
