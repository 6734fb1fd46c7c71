#include "common/cli_test.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "common/fixtures.hpp"

namespace sdwalk::test {
namespace fs = std::filesystem;

void CliTest::SetUp() {
  ASSERT_TRUE(fs::exists(sdwalk_binary())) << sdwalk_binary() << " not found: build target sdwalk first";
  if (!fs::exists(fixture("mini-sd15"))) GTEST_SKIP() << "fixture absent: " << fixture("mini-sd15");
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = fs::temp_directory_path() /
         ("sdwalk_cli_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

void CliTest::TearDown() {
  if (!dir_.empty()) fs::remove_all(dir_);
}

std::string CliTest::model_flag() const { return " --model " + shell_quote(fixture("mini-sd15").string()); }

namespace {
std::string size_and_steps(const SmallRun& r, const std::string& steps_flag) {
  return " --height " + std::to_string(r.height) + " --width " + std::to_string(r.width) + " " + steps_flag + " " +
         std::to_string(r.steps);
}
}  // namespace

std::string CliTest::small_generate(const fs::path& out, const SmallRun& r) {
  return "generate -p x" + size_and_steps(r, "--steps") + " -o " + shell_quote(out.string());
}

std::string CliTest::small_walk(const fs::path& out, const SmallRun& r) {
  return "walk noise -p x --num-interpolation-steps 2" + size_and_steps(r, "--num-inference-steps") + " -o " +
         shell_quote(out.string());
}

fs::path CliTest::model_copy(const std::string& name, const std::map<std::string, nlohmann::json>& patches) const {
  const fs::path from = fixture("mini-sd15"), to = dir_ / name;
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const fs::path rel = fs::relative(e.path(), from), dest = to / rel;
    if (e.is_directory()) {
      fs::create_directories(dest);
      continue;
    }
    const auto patch = patches.find(rel.generic_string());
    if (patch == patches.end()) {
      fs::create_symlink(e.path(), dest);
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(std::ifstream(e.path()));
    for (const auto& [k, v] : patch->second.items()) j[k] = v;
    std::ofstream(dest) << j.dump(2);
  }
  return to;
}

std::vector<std::string> CliTest::entries_except(const std::vector<std::string>& keep) const {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string n = e.path().filename().string();
    if (std::find(keep.begin(), keep.end(), n) == keep.end()) out.push_back(n);
  }
  return out;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace sdwalk::test
