// Every request is checked completely before any frame is rendered and before anything is written:
// limits of the animation writers, sizes the UNet cannot take, more steps than the model was trained
// with. A run that fails before its first frame leaves no run folder behind.
#include "common/cli_test.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class ValidateFirstCli : public test::CliTest {
 protected:
  // One error line, the last one, naming `expect`; no denoising began; nothing on disk.
  void expect_refused_up_front(const std::string& args, const std::string& expect,
                               const std::vector<std::string>& keep = {}) {
    const auto r = run_sdwalk(args + model_flag());
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.find('\n', r.err.find("error:")), r.err.size() - 1) << "the error is the last line: " << r.err;
    EXPECT_EQ(r.err.find("rendering"), std::string::npos) << "refused after rendering began: " << r.err;
    EXPECT_EQ(r.err.find("denoising"), std::string::npos) << "refused after denoising began: " << r.err;
    EXPECT_EQ(entries_except(keep), std::vector<std::string>{}) << args;
  }
};

TEST_F(ValidateFirstCli, WalkAnimationLimitsAreCheckedBeforeRendering) {
  const std::string walk = small_walk(dir() / "out.gif");
  expect_refused_up_front(walk + " --frame-duration 0.5", "frame duration");
  expect_refused_up_front(walk + " --fps 2000", "frame duration");
  expect_refused_up_front(walk + " --loop 100000", "loop");
}

TEST_F(ValidateFirstCli, SizesTheUNetCannotTakeAreRefusedWithWhatItNeeds) {
  // mini-sd15 has SD 1.5's four UNet levels: 8 * 2^3 = multiples of 64 pixels.
  expect_refused_up_front(small_walk(dir() / "out.gif", {.height = 72}), "multiple of 64");
  expect_refused_up_front(small_generate(dir() / "out.png", {.width = 72}), "multiple of 64");
}

// A size no machine can hold is refused from the memory estimate, before anything is allocated, and
// --max-memory sets the limit (issue 16, item 2: 100000x100000 reached 14.7 GB before it failed).
TEST_F(ValidateFirstCli, RequestsBeyondTheMemoryAreRefusedWithWhatTheyWouldTake) {
  expect_refused_up_front(small_generate(dir() / "out.png", {.height = 99968, .width = 99968}), "needs about");
  expect_refused_up_front(small_walk(dir() / "out.gif", {.height = 99968, .width = 99968}), "needs about");
  expect_refused_up_front(small_generate(dir() / "out.png") + " --max-memory 0.001", "--max-memory is 0.0 GB");
}

TEST_F(ValidateFirstCli, MoreStepsThanTrainingTimestepsAreRefused) {
  expect_refused_up_front(small_walk(dir() / "out.gif", {.steps = 100000}), "[1, 1000]");
  expect_refused_up_front(small_generate(dir() / "out.png", {.steps = 100000}), "[1, 1000]");
}

TEST_F(ValidateFirstCli, AWalkFailingBeforeItsFirstFrameLeavesNoRunFolder) {
  // Finite noise so large that the first UNet step overflows: caught only while rendering.
  const fs::path noise = dir() / "huge.safetensors";
  Tensor t({2, 4, 8, 8});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 3e38f;
  save_safetensors(noise, {{"latents", t}});
  // Two steps: with one, LMS starts at t = 0, where sigma is 0.03 and nothing overflows.
  const auto r =
      run_sdwalk(small_walk(dir() / "out.gif", {.steps = 2}) + " --noise " + shell_quote(noise.string()) + model_flag());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("NaN"), std::string::npos) << r.err;
  EXPECT_EQ(entries_except({"huge.safetensors"}), std::vector<std::string>{});
}

}  // namespace
}  // namespace sdwalk
