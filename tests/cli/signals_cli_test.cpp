// Ctrl-C or SIGTERM during a walk: sdwalk says where the run folder is (also when the walk starts)
// and how to resume it, and the command it prints does finish the walk.
#include <signal.h>
#include <unistd.h>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::shell_quote;

class SignalsCli : public test::CliTest {};

TEST_F(SignalsCli, AnInterruptedWalkSaysHowToResumeIt) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string name = "walk" + std::to_string(sig);
    const fs::path run = dir() / name, err = dir() / (name + ".err");
    // 30 frames of 5 steps on one thread: time to interrupt after the first frame.
    const std::string cmd = shell_quote(test::sdwalk_binary().string()) +
                            " walk noise -p x --seed 1 --height 64 --width 64 --num-inference-steps 5"
                            " --num-interpolation-steps 30 --threads 1 -o " +
                            shell_quote((dir() / (name + ".gif")).string()) + model_flag() + " 2>" +
                            shell_quote(err.string());
    test::interrupt_when_exists(cmd, run / frame_file_name(0), sig);
    const std::string text = test::file_bytes(err);
    EXPECT_NE(text.find("run folder: " + run.string()), std::string::npos) << text;
    EXPECT_NE(text.find("walk --resume " + run.string()), std::string::npos) << "signal " << sig << ":\n" << text;
    const auto resumed = test::run_sdwalk("walk --resume " + shell_quote(run.string()));
    EXPECT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_TRUE(fs::exists(dir() / (name + ".gif")));
  }
}

}  // namespace
}  // namespace sdwalk
