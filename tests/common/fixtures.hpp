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
// A CLIP tokenizer folder that pads with end-of-text as SD 1.x does (what tokenizer_cases.json was made
// with): clip_tokenizer/ when the fixture set has one, else the tokenizer/ of a model folder whose
// tokenizer_config.json says so. Empty when there is none (callers skip).
std::filesystem::path sd15_tokenizer_dir();
// Skips the current test when the fixture set holds no SD 1.x tokenizer.
#define SDWALK_REQUIRE_SD15_TOKENIZER() \
  SDWALK_REQUIRE_FIXTURE_WHY(!::sdwalk::test::sd15_tokenizer_dir().empty(), "no SD 1.x CLIP tokenizer folder in the fixtures")
// The build's sdwalk executable.
std::filesystem::path sdwalk_binary();
// The shipped demo model: $SDWALK_DEMO_MODEL, else <repo>/models/demo (not checked for existence).
std::filesystem::path demo_model_dir();

}  // namespace sdwalk::test

// Skips the current test with `why` unless `ok`.
#define SDWALK_REQUIRE_FIXTURE_WHY(ok, why) \
  do {                                      \
    if (!(ok)) GTEST_SKIP() << (why);       \
  } while (0)

// Skips the current test (with the path in the message) when the fixture file is absent.
#define SDWALK_REQUIRE_FIXTURE(path)                                                  \
  do {                                                                                \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture absent: " << (path); \
  } while (0)
