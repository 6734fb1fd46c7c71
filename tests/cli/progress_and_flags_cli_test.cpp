// Progress when stderr is a file or pipe: a few lines, not one per denoising step; and the step count
// has one documented name (--num-inference-steps) that both commands take, with --steps as its alias.
#include "common/cli_test.hpp"

namespace sdwalk {
namespace {

class ProgressCli : public test::CliTest {};

size_t lines_with(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST_F(ProgressCli, AWalkToAPipePrintsAtMostOneLinePerFrame) {
  // 4 frames of 5 steps: 20 denoising steps.
  const auto r = test::run_sdwalk("walk noise -p x --height 64 --width 64 --num-inference-steps 5 "
                                  "--num-interpolation-steps 4 -o " +
                                  test::shell_quote((dir() / "out.gif").string()) + model_flag());
  ASSERT_EQ(r.status, 0) << r.err;
  const size_t lines = lines_with(r.err, "rendering");
  EXPECT_GE(lines, 1u) << r.err;
  EXPECT_LE(lines, 4u) << r.err;
}

class FlagNamesCli : public test::CliTest {};

TEST_F(FlagNamesCli, StepsHaveOneNameOnBothCommands) {
  const std::string g = "generate -p x --height 64 --width 64 --num-inference-steps 1 -o ";
  const auto a = test::run_sdwalk(g + test::shell_quote((dir() / "a.png").string()) + model_flag());
  EXPECT_EQ(a.status, 0) << a.err;
  const std::string w = "walk noise -p x --height 64 --width 64 --num-interpolation-steps 2 --steps 1 -o ";
  const auto b = test::run_sdwalk(w + test::shell_quote((dir() / "b.gif").string()) + model_flag());
  EXPECT_EQ(b.status, 0) << b.err;
}

}  // namespace
}  // namespace sdwalk
