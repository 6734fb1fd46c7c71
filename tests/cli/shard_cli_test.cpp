// A walk split over processes that share its run folder (--shard K/N, --shard auto, --mpi): shards
// run one after the other, or as MPI ranks, then `sdwalk assemble` gives the animation of the walk
// run in one go, byte for byte; a killed shard resumes without touching the others' frames; shards
// started with other flags are refused; assemble names the frames still missing.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/animation.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::file_bytes;
using test::run_sdwalk;
using test::shell_quote;

constexpr int kFrames = 6;

class ShardCli : public test::CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (!fs::exists(test::fixture("mini-sd15"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd15");
  }
  std::string walk(const fs::path& out, const std::string& extra = "", int seed = 7) const {
    return "walk prompts -p 'a red circle' -p 'a blue square' --seed " + std::to_string(seed) +
           " --num-interpolation-steps " + std::to_string(kFrames) +
           " --num-inference-steps 12 --height 64 --width 64 --pacing uniform -o " + shell_quote(out.string()) + extra +
           model_flag();  // shards render uniform t: so must the one-process walk they are compared with
  }
  // The walk rendered in one process: what every split must reproduce.
  std::string whole_gif() {
    const fs::path gif = dir() / "whole.gif";
    const auto r = run_sdwalk(walk(gif));
    EXPECT_EQ(r.status, 0) << r.err;
    return file_bytes(gif);
  }
  void expect_ok(const std::string& args) {
    const auto r = run_sdwalk(args);
    ASSERT_EQ(r.status, 0) << args << "\n" << r.err;
  }
};

TEST_F(ShardCli, TwoShardsOneAfterTheOtherThenAssembleGiveTheSameBytes) {
  const std::string whole = whole_gif();
  const fs::path gif = dir() / "split.gif", run = dir() / "split";
  expect_ok(walk(gif, " --shard 0/2"));
  EXPECT_FALSE(fs::exists(gif)) << "a shard wrote the animation";
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(fs::exists(run / frame_file_name(i)), i % 2 == 0) << "frame " << i;
  // Half the frames: assemble says which are missing and writes nothing.
  const auto early = run_sdwalk("assemble " + shell_quote(run.string()));
  EXPECT_NE(early.status, 0);
  EXPECT_NE(early.err.find("3 of 6 frames are missing (1, 3, 5"), std::string::npos) << early.err;
  EXPECT_FALSE(fs::exists(gif));

  expect_ok(walk(gif, " --shard 1/2 --threads 1"));  // another machine may run other thread counts
  expect_ok("assemble " + shell_quote(run.string()));
  EXPECT_EQ(file_bytes(gif), whole);
}

TEST_F(ShardCli, AutoShardsFromASlurmArray) {
  const std::string whole = whole_gif();
  const fs::path gif = dir() / "slurm.gif";
  ::setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
  for (const char* task : {"1", "2", "3"}) {  // sbatch --array=1-3
    ::setenv("SLURM_ARRAY_TASK_ID", task, 1);
    expect_ok(walk(gif, " --shard auto"));
  }
  for (const char* v : {"SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_ID"}) ::unsetenv(v);
  expect_ok("assemble " + shell_quote((dir() / "slurm").string()));
  EXPECT_EQ(file_bytes(gif), whole);
}

TEST_F(ShardCli, AKilledShardResumesWithoutTouchingTheOthersFrames) {
  const std::string whole = whole_gif();
  const fs::path gif = dir() / "k.gif", run = dir() / "k";
  expect_ok(walk(gif, " --shard 0/2"));
  std::vector<std::string> shard0;
  for (int i = 0; i < kFrames; i += 2) shard0.push_back(file_bytes(run / frame_file_name(i)));
  const auto mtime0 = fs::last_write_time(run / frame_file_name(0));

  const std::string cmd = shell_quote(test::sdwalk_binary().string()) + " " + walk(gif, " --shard 1/2 --threads 1") +
                          " >/dev/null 2>&1";
  test::interrupt_when_exists(cmd, run / frame_file_name(1), SIGKILL);
  EXPECT_FALSE(fs::exists(run / frame_file_name(5))) << "shard 1 finished before it could be killed";

  expect_ok("walk --resume " + shell_quote(run.string()) + " --shard 1/2");
  for (int i = 0; i < kFrames; i += 2) EXPECT_EQ(file_bytes(run / frame_file_name(i)), shard0[size_t(i / 2)]) << i;
  EXPECT_EQ(fs::last_write_time(run / frame_file_name(0)), mtime0) << "shard 0's frame was rendered again";
  expect_ok("assemble " + shell_quote(run.string()));
  EXPECT_EQ(file_bytes(gif), whole);
}

TEST_F(ShardCli, ShardsStartedWithOtherFlagsAreRefused) {
  const fs::path gif = dir() / "mixed.gif", run = dir() / "mixed";
  expect_ok(walk(gif, " --shard 0/2", 1));
  const auto r = run_sdwalk(walk(gif, " --shard 1/2", 2));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("another shard started this walk with other settings (seeds"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("give --seed"), std::string::npos) << r.err;
  for (int i = 1; i < kFrames; i += 2) EXPECT_FALSE(fs::exists(run / frame_file_name(i))) << "frame " << i << " rendered";
}

TEST_F(ShardCli, BadShardFlagsFailWithOneLineBeforeAnyWork) {
  const fs::path gif = dir() / "bad.gif";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {walk(gif, " --shard 2/2"), "shard 2 of 2 does not exist"},
      {walk(gif, " --shard 1"), "expected K/N"},
      {walk(gif, " --shard -1/2"), "expected K/N"},
      {walk(gif, " --shard auto"), "neither SLURM_ARRAY_TASK_ID"},
      {walk(gif, " --shard 0/2 --mpi"), "--mpi"},
      {"walk prompts -p a -p b --seed 1 --shard 0/2" + model_flag(), "needs its --output named"},
      {"assemble " + shell_quote((dir() / "nothing").string()), "settings.json"},
  };
  for (const auto& [args, expect] : cases) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\nstderr: " << r.err;
  }
  EXPECT_EQ(entries_except({}), std::vector<std::string>{}) << "something was written";
}

// Three ranks on this machine (oversubscribed), each with another thread count than the single
// process: the GIF rank 0 assembles equals the one-process walk's.
TEST_F(ShardCli, MpiRanksGiveTheOneProcessGif) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "mpirun absent (openmpi-bin)";
  if (run_sdwalk("walk --mpi --help").out.find("--mpi") == std::string::npos) GTEST_SKIP() << "sdwalk --help names no --mpi";
  const std::string whole = whole_gif();
  const fs::path gif = dir() / "mpi.gif";
  // Open MPI refuses to run as root unless told that it is meant.
  const std::string cmd = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -n 3 " +
                          shell_quote(test::sdwalk_binary().string()) + " " + walk(gif, " --threads 1 --mpi") +
                          " >" + shell_quote((dir() / "mpi.log").string()) + " 2>&1";
  const int status = std::system(("timeout 300 sh -c " + shell_quote(cmd)).c_str());
  ASSERT_EQ(status, 0) << file_bytes(dir() / "mpi.log");
  EXPECT_EQ(file_bytes(gif), whole);
}

}  // namespace
}  // namespace sdwalk
