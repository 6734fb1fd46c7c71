// `sdwalk tokenize` run as a user runs it: its last stdout line is the fixture's input_ids.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

using test::last_line;
using test::RunResult;
using test::run_sdwalk;
using test::shell_quote;

class TokenizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
  }
};

// Every 10th case and every truncated case of tokenizer_cases.json, half through --tokenizer, half --model.
TEST_F(TokenizeCli, LastLineIsTheFixtureInputIds) {
  const fs::path path = test::fixture("tokenizer_cases.json");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15/tokenizer/vocab.json"));
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const nlohmann::json cases = nlohmann::json::parse(std::ifstream(path)).at("cases");
  int checked = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const bool truncated = c.at("truncated").get<bool>();
    if (i % 10 != 0 && !truncated) continue;
    const std::string source = checked % 2 ? "--model " + shell_quote(test::fixture("mini-sd15").string())
                                           : "--tokenizer " + shell_quote(test::sd15_tokenizer_dir().string());
    const RunResult r = run_sdwalk("tokenize " + source + " -- " + shell_quote(c.at("prompt")));
    const std::string name = c.at("name");
    ASSERT_EQ(r.status, 0) << name << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(last_line(r.out)), c.at("input_ids")) << name;
    const size_t content = c.at("num_untruncated").get<size_t>() - 2;
    EXPECT_NE(r.out.find(std::to_string(content) + " tokens of 75\n"), std::string::npos) << name << ": " << r.out;
    EXPECT_EQ(r.err.find("warning: prompt is " + c.at("num_untruncated").dump() + " tokens, truncated to 77; removed: '") !=
                  std::string::npos,
              truncated)
        << name << ": " << r.err;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST_F(TokenizeCli, AsksForATokenizerWhenNoneIsGiven) {
  const RunResult r = run_sdwalk("tokenize 'a cat'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--tokenizer"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(TokenizeCli, NamesAMissingTokenizerFolder) {
  const RunResult r = run_sdwalk("tokenize --tokenizer /nonexistent/sdwalk_tok 'a cat'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/nonexistent/sdwalk_tok"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sdwalk
