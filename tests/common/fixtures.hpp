#pragma once
// The one way tests find ../shared/fixtures: $SDWALK_FIXTURES, else <repo>/../shared/fixtures.
// Tests discover their cases from the files; a missing file skips the test with a message.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

std::filesystem::path fixtures_dir();
// fixtures_dir() / rel (not checked for existence).
std::filesystem::path fixture(const std::string& rel);
// Files in fixtures_dir()/dir whose names start with `prefix` and end with `suffix`, sorted.
std::vector<std::filesystem::path> fixture_files(const std::string& dir, const std::string& prefix,
                                                 const std::string& suffix);
// A metadata value of an expected/ file, parsed as the JSON document it is.
nlohmann::json metadata_json(const SafeTensors& file, const std::string& key);
// The build's sdwalk executable.
std::filesystem::path sdwalk_binary();
// The shipped demo model: $SDWALK_DEMO_MODEL, else <repo>/models/demo (not checked for existence).
std::filesystem::path demo_model_dir();

}  // namespace sdwalk::test

// Skips the current test (with the path in the message) when the fixture file is absent.
#define SDWALK_REQUIRE_FIXTURE(path)                                                  \
  do {                                                                                \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << (path); \
  } while (0)
