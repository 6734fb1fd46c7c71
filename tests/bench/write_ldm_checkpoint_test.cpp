// bench/write_ldm_checkpoint (the diffusers folder -> LDM single file writer for the sd.cpp
// side-by-side run) against diffusers' own converter: mini-sd15/ written by it must give the same
// keys, shapes and values as mini-sd15.fp16.safetensors, which diffusers' script made from the same
// folder (its fp16 is lossless, see the fixtures README).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {
namespace {

namespace fs = std::filesystem;

fs::path tool() { return fs::path(SDWALK_BINARY_DIR) / "bench" / "write_ldm_checkpoint"; }

struct ToolRun {
  int status;
  std::string err;
};

ToolRun run_tool(const std::string& args, const fs::path& dir) {
  const fs::path err = dir / "stderr.txt";
  const int rc = std::system((shell_quote(tool().string()) + " " + args + " >/dev/null 2>" +
                              shell_quote(err.string())).c_str());
  std::ifstream in(err);
  std::stringstream s;
  s << in.rdbuf();
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, s.str()};
}

class WriteLdmCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(tool())) GTEST_SKIP() << "not built: " << tool() << " (SDWALK_BUILD_BENCH)";
    dir_ = fs::temp_directory_path() / ("sdwalk-ldm-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(WriteLdmCheckpoint, MatchesDiffusersConverterOnMiniSd15) {
  const fs::path folder = fixture("mini-sd15"), reference = fixture("mini-sd15.fp16.safetensors");
  SDWALK_REQUIRE_FIXTURE(folder);
  SDWALK_REQUIRE_FIXTURE(reference);
  const fs::path out = dir_ / "mini-ldm.safetensors";
  const ToolRun r = run_tool(shell_quote(folder.string()) + " " + shell_quote(out.string()), dir_);
  ASSERT_EQ(r.status, 0) << r.err;

  const SafeTensors ours = SafeTensors::open(out), ref = SafeTensors::open(reference);
  ASSERT_EQ(ours.names().size(), ref.names().size());
  for (const auto& name : ref.names()) {
    ASSERT_TRUE(ours.contains(name)) << "missing " << name;
    const Tensor a = ours.get_f32(name), b = ref.get_f32(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    ASSERT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "values differ: " << name;
  }
}

TEST_F(WriteLdmCheckpoint, BadInputIsOneLineAndNonZero) {
  for (const std::string& args : {std::string(""), shell_quote((dir_ / "absent").string()) + " x.safetensors",
                                 shell_quote(dir_.string()) + " " + shell_quote((dir_ / "o.safetensors").string())}) {
    const ToolRun r = run_tool(args, dir_);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(r.err.find("write_ldm_checkpoint: "), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace sdwalk::test
