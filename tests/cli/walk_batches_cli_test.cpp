// Walks whose frames travel in batches: an euler_a walk in batches of 3, killed (SIGKILL) after its
// first batch and resumed, equals the walk run in one go bit for bit; ping-pong plays the run
// folder's frames forward and back, and is refused (before any work) for PNG frames, where it
// would mean nothing.
#include <gif_lib.h>
#include <signal.h>
#include <unistd.h>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class WalkBatchesCli : public test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (!fs::exists(test::fixture("mini-sd15"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd15");
  }
  std::string euler_a_walk(const fs::path& out) const {
    return "walk prompts -p 'a red circle' -p 'a blue square' --seed 3 --scheduler euler_a --batch-size 3"
           " --num-interpolation-steps 7 --num-inference-steps 4 --height 64 --width 64 --format png -o " +
           shell_quote(out.string()) + model_flag();
  }
};

TEST_F(WalkBatchesCli, KilledEulerAncestralWalkInBatchesOfThreeResumesBitForBit) {
  const fs::path whole = dir() / "whole", killed = dir() / "killed";
  const auto r0 = run_sdwalk(euler_a_walk(whole));
  ASSERT_EQ(r0.status, 0) << r0.err;

  const std::string cmd = shell_quote(test::sdwalk_binary().string()) + " " + euler_a_walk(killed) +
                          " --threads 1 >/dev/null 2>&1";
  // Killed once the first batch is on disk (or after 60 s, whatever happened by then).
  test::interrupt_when_exists(cmd, killed / frame_file_name(0), SIGKILL);
  int present = 0;
  for (int i = 0; i < 7; ++i) present += fs::exists(killed / frame_file_name(i));
  EXPECT_LT(present, 7) << "the walk finished before it could be killed";

  // The resumed run regroups the missing frames into new batches of 3.
  const auto r = run_sdwalk("walk --resume " + shell_quote(killed.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(read_png(whole / frame_file_name(i)).rgb, read_png(killed / frame_file_name(i)).rgb) << "frame " << i;
}

TEST_F(WalkBatchesCli, PingPongIsRefusedForPngFramesBeforeAnyWork) {
  const fs::path frames = dir() / "frames";
  const auto r = run_sdwalk(small_walk(frames) + " --format png --ping-pong" + model_flag());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--ping-pong is for animations"), std::string::npos) << r.err;
  EXPECT_EQ(entries_except({}), std::vector<std::string>{}) << "something was written";
}

TEST_F(WalkBatchesCli, PingPongGifPlaysTheRunFoldersFramesForwardAndBack) {
  const fs::path gif = dir() / "walk.gif";
  const auto r = run_sdwalk("walk noise -p x --seed 2 --num-interpolation-steps 4 --height 64 --width 64"
                            " --num-inference-steps 2 --ping-pong -o " + shell_quote(gif.string()) + model_flag());
  ASSERT_EQ(r.status, 0) << r.err;
  int error = 0;
  GifFileType* g = DGifOpenFileName(gif.c_str(), &error);
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(DGifSlurp(g), GIF_OK);
  EXPECT_EQ(g->ImageCount, 6);  // 0 1 2 3 2 1: the ends are not repeated
  DGifCloseFile(g, &error);
  // Only the animation, its settings, its smoothness report and the run folder are left.
  EXPECT_EQ(entries_except({"walk.gif", "walk.json", "walk", "walk.report.json", "walk.distances.png", "walk.contact.png"}),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace sdwalk
