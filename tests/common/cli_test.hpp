#pragma once
// Base of the CLI tests that run sdwalk on mini-sd15: a fresh temporary folder per test, the
// model flag, small request flags, and copies of the model with edited configs.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/cli_runner.hpp"

namespace sdwalk::test {

// Flags of a small run (each given once: a flag given twice is an error of its own).
struct SmallRun {
  int height = 64, width = 64, steps = 1;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // " --model '<fixtures>/mini-sd15'"
  std::string model_flag() const;
  // A 64x64, 1-step generate / two-frame noise walk writing to `out` (no model flag, no seed).
  static std::string small_generate(const std::filesystem::path& out, const SmallRun& run = {});
  static std::string small_walk(const std::filesystem::path& out, const SmallRun& run = {});
  // A copy of mini-sd15 in dir()/name: files are symlinks to the fixture's, except the JSON files
  // named in `patches` ("unet/config.json" -> keys to set), written with those keys replaced.
  std::filesystem::path model_copy(const std::string& name,
                                   const std::map<std::string, nlohmann::json>& patches) const;
  // Every entry of dir() except those named in `keep` (to check that nothing was written).
  std::vector<std::string> entries_except(const std::vector<std::string>& keep) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

std::string file_bytes(const std::filesystem::path& p);

}  // namespace sdwalk::test
