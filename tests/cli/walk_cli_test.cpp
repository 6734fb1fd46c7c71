// `sdwalk walk` run as a user runs it: the cookbook's walks with their stored noise (--noise), written
// as PNG frames equal to the notebook's uint8 frames within +-1; the animation formats decoded back;
// a walk killed mid-run and resumed equals an uninterrupted one; bad input fails with one line.
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "common/walk_fixture.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class WalkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    if (!fs::exists(test::fixture("mini-sd15"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd15");
    dir_ = fs::temp_directory_path() / ("sdwalk_walk_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The command line that renders fixture walk `w` with its stored noise.
  std::string walk_args(const test::WalkFixture& w, const fs::path& noise_file) const {
    std::string a = "walk " + w.mode + " --model " + shell_quote(test::fixture("mini-sd15").string()) + " --precision f32";
    for (const auto& p : w.prompts) a += " --prompt " + shell_quote(p);
    for (const auto& n : w.negative_prompts) a += " --negative-prompt " + shell_quote(n);
    a += " --seed " + std::to_string(w.seed) + " --height " + std::to_string(w.height) + " --width " +
         std::to_string(w.width) + " --num-inference-steps " + std::to_string(w.num_inference_steps) +
         " --num-interpolation-steps " + std::to_string(w.num_interpolation_steps) + " --guidance-scale " +
         std::to_string(w.guidance_scale) + " --scheduler " + w.scheduler_class + " --noise " +
         shell_quote(noise_file.string());
    if (w.step_size) a += " --step-size " + std::to_string(w.step_size);
    return a + " --pacing uniform";  // the notebook's t (even pacing is the CLI's default)
  }
  fs::path noise_file(const test::WalkFixture& w) const {
    const fs::path p = dir_ / (w.path.stem().string() + ".noise.safetensors");
    save_safetensors(p, {{"latents", w.noise}});
    return p;
  }
  fs::path dir_;
};

// Largest |ours - round(ref * 255)| over a frame; ref is [1, H, W, 3] float in [0, 1].
int worst_channel_error(const Image& ours, const Tensor& ref) {
  const float* r = ref.f32();
  if (int64_t(ours.rgb.size()) != ref.numel()) return 256;
  int worst = 0;
  for (size_t i = 0; i < ours.rgb.size(); ++i) {
    const int expected = int(std::nearbyint(double(r[i]) * 255.0));
    worst = std::max(worst, std::abs(int(ours.rgb[i]) - expected));
  }
  return worst;
}

TEST_F(WalkCli, PngFramesOfEveryCookbookWalkMatchTheNotebook) {
  const auto files = test::walk_fixture_files();
  if (files.empty()) GTEST_SKIP() << "no walk fixtures";
  for (const auto& path : files) {
    const test::WalkFixture w = test::read_walk_fixture(path);
    const fs::path out = dir_ / path.stem();
    const auto r = run_sdwalk(walk_args(w, noise_file(w)) + " --output " + shell_quote(out.string()) + " --format png");
    ASSERT_EQ(r.status, 0) << path.filename() << ": " << r.err;
    EXPECT_EQ(test::last_line(r.out), fs::absolute(out).string());
    for (int64_t i = 0; i < w.frames.dim(0); ++i) {
      const fs::path frame = out / frame_file_name(i);
      ASSERT_TRUE(fs::exists(frame)) << frame;
      EXPECT_LE(worst_channel_error(read_png(frame), w.frames.slice0(i, i + 1)), 1) << frame;
      EXPECT_NE(read_png_text(frame).at("sdwalk").find("\"frame\":" + std::to_string(i)), std::string::npos);
    }
    EXPECT_FALSE(fs::exists(out / frame_file_name(w.frames.dim(0)))) << "more frames than the notebook";
    EXPECT_TRUE(fs::exists(out / "settings.json"));
  }
}

TEST_F(WalkCli, GifHasTheNotebooksTimingLoopAndSize) {
  const auto files = test::walk_fixture_files();
  if (files.empty()) GTEST_SKIP() << "no walk fixtures";
  const test::WalkFixture w = test::read_walk_fixture(files.front());
  const fs::path gif = dir_ / "walk.gif";
  const auto r = run_sdwalk(walk_args(w, noise_file(w)) + " --output " + shell_quote(gif.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  int error = 0;
  GifFileType* g = DGifOpenFileName(gif.c_str(), &error);
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(DGifSlurp(g), GIF_OK);
  EXPECT_EQ(g->ImageCount, w.frames.dim(0));
  EXPECT_EQ(g->SWidth, w.width);
  EXPECT_EQ(g->SHeight, w.height);
  bool loop_found = false;
  for (int i = 0; i < g->ImageCount; ++i) {
    GraphicsControlBlock gcb;
    ASSERT_EQ(DGifSavedExtensionToGCB(g, i, &gcb), GIF_OK);
    EXPECT_EQ(gcb.DelayTime, 10) << "frame " << i;  // the notebook's 100 ms
  }
  for (int i = 0; i < g->ImageCount; ++i)
    for (int e = 0; e < g->SavedImages[i].ExtensionBlockCount; ++e) {
      const ExtensionBlock& b = g->SavedImages[i].ExtensionBlocks[e];
      if (b.Function == APPLICATION_EXT_FUNC_CODE && b.ByteCount == 11 &&
          std::string(reinterpret_cast<char*>(b.Bytes), 11) == "NETSCAPE2.0")
        loop_found = true;
    }
  EXPECT_TRUE(loop_found) << "no NETSCAPE2.0 loop extension";
  DGifCloseFile(g, &error);
  EXPECT_TRUE(fs::exists(dir_ / "walk.json")) << "settings beside the animation";
  // Never overwrite: the same command again fails and leaves the file as it was.
  const auto size = fs::file_size(gif);
  const auto again = run_sdwalk(walk_args(w, noise_file(w)) + " --output " + shell_quote(gif.string()));
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(fs::file_size(gif), size);
}

TEST_F(WalkCli, KilledWalkResumesToTheSameFrames) {
  const auto files = test::walk_fixture_files();
  if (files.empty()) GTEST_SKIP() << "no walk fixtures";
  // The walk with the most frames gives the kill the widest window.
  test::WalkFixture w = test::read_walk_fixture(files.front());
  for (const auto& p : files) {
    test::WalkFixture c = test::read_walk_fixture(p);
    if (c.frames.dim(0) > w.frames.dim(0)) w = c;
  }
  const fs::path whole = dir_ / "whole", killed = dir_ / "killed";
  ASSERT_EQ(run_sdwalk(walk_args(w, noise_file(w)) + " --format png --output " + shell_quote(whole.string())).status, 0);

  const std::string cmd = shell_quote(test::sdwalk_binary().string()) + " " + walk_args(w, noise_file(w)) +
                          " --threads 1 --format png --output " + shell_quote(killed.string()) + " >/dev/null 2>&1";
  // Kill it once the first frame is on disk (or after 60 s, whatever happened by then).
  test::interrupt_when_exists(cmd, killed / frame_file_name(0), SIGKILL);
  int64_t present = 0;
  for (int64_t i = 0; i < w.frames.dim(0); ++i) present += fs::exists(killed / frame_file_name(i));
  EXPECT_LT(present, w.frames.dim(0)) << "the walk finished before it could be killed";

  const auto r = run_sdwalk("walk --resume " + shell_quote(killed.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  for (int64_t i = 0; i < w.frames.dim(0); ++i) {
    const Image a = read_png(whole / frame_file_name(i)), b = read_png(killed / frame_file_name(i));
    EXPECT_EQ(a.rgb, b.rgb) << "frame " << i;
  }
  for (const auto& e : fs::directory_iterator(killed))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "half-written file left: " << e.path();
}

TEST_F(WalkCli, BadInputFailsWithOneLineAndWritesNothing) {
  const std::string model = " --model " + shell_quote(test::fixture("mini-sd15").string());
  const std::string small = " --height 64 --width 64 --num-inference-steps 1 --num-interpolation-steps 2";
  const fs::path out = dir_ / "out.gif";
  const std::string o = " --output " + shell_quote(out.string());
  const fs::path wrong_noise = dir_ / "wrong.safetensors";
  save_safetensors(wrong_noise, {{"x", Tensor({3, 4, 8, 8})}});
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"walk prompts -p a" + model + small + o, "at least two prompts"},
      {"walk prompts -p a -p b -p c -n x -n y" + model + small + o, "negative prompts"},
      {"walk noise -p a --num-interpolation-steps 1" + model + o, "at least 2"},
      {"walk noise -p a --height 60" + model + o, "multiple of 8"},
      {"walk noise -p a --scheduler nope" + model + small + o, "unknown scheduler"},
      {"walk noise -p a --noise " + shell_quote(wrong_noise.string()) + model + small + o, "elements"},
      {"walk noise -p a --format bmp" + model + small + o, "bmp"},
      {"walk noise -p a" + model + small + " --output " + shell_quote((dir_ / "no/such/dir/x.gif").string()),
       "does not exist"},
  };
  for (const auto& c : cases) {
    const auto r = run_sdwalk(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\nstderr: " << r.err;
    size_t error_lines = 0;  // progress notices may precede it; the error itself is one line
    for (size_t p = r.err.find("error:"); p != std::string::npos; p = r.err.find("error:", p + 1)) ++error_lines;
    EXPECT_EQ(error_lines, 1u) << r.err;
    EXPECT_EQ(r.err.find('\n', r.err.find("error:")), r.err.size() - 1) << "the error is the last line: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
}

}  // namespace
}  // namespace sdwalk
