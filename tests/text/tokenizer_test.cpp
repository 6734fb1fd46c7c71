#include "sdwalk/clip_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

const ClipTokenizer& tokenizer() {
  static const ClipTokenizer t = ClipTokenizer::load(test::sd15_tokenizer_dir());
  return t;
}

std::vector<int64_t> ids_row(const Tensor& ids, int64_t row) {
  const int64_t n = ids.shape().back();
  const int64_t* p = ids.data<int64_t>() + row * n;
  return std::vector<int64_t>(p, p + n);
}

std::string error_of(const fs::path& dir) {
  try {
    ClipTokenizer::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A scratch copy of the fixture tokenizer with one file replaced (or removed when content is empty).
fs::path tokenizer_with(const std::string& file, const std::string& content) {
  const fs::path dir = fs::temp_directory_path() / ("sdwalk_tok_" + file);
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    if (f != file) fs::copy_file(test::sd15_tokenizer_dir() / f, dir / f);
  if (!content.empty()) std::ofstream(dir / file, std::ios::binary) << content;
  return dir;
}

TEST(ClipTokenizer, MatchesTransformersOnEveryFixtureCase) {
  const fs::path path = test::fixture("tokenizer_cases.json");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const nlohmann::json doc = nlohmann::json::parse(std::ifstream(path));
  ASSERT_FALSE(doc.at("cases").empty());
  EXPECT_EQ(tokenizer().max_length(), doc.at("max_length").get<int>());
  EXPECT_EQ(tokenizer().bos_id(), doc.at("bos_token_id").get<int64_t>());
  EXPECT_EQ(tokenizer().eos_id(), doc.at("eos_token_id").get<int64_t>());
  EXPECT_EQ(tokenizer().pad_id(), doc.at("pad_token_id").get<int64_t>());
  int passed = 0;
  for (const auto& c : doc.at("cases")) {
    const std::string name = c.at("name");
    const TokenizedPrompt t = tokenizer().encode(c.at("prompt").get<std::string>());
    const bool ok = t.input_ids == c.at("input_ids").get<std::vector<int64_t>>() &&
                    t.untruncated_ids == c.at("untruncated_ids").get<std::vector<int64_t>>() &&
                    t.tokens == c.at("tokens").get<std::vector<std::string>>() &&
                    t.truncated == c.at("truncated").get<bool>() &&
                    t.untruncated_ids.size() == c.at("num_untruncated").get<size_t>() &&
                    t.truncated == !t.removed_text.empty();
    EXPECT_EQ(t.input_ids, c.at("input_ids").get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(t.untruncated_ids, c.at("untruncated_ids").get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(t.tokens, c.at("tokens").get<std::vector<std::string>>()) << name;
    EXPECT_EQ(t.truncated, c.at("truncated").get<bool>()) << name;
    EXPECT_EQ(t.truncated, !t.removed_text.empty()) << name << ": removed_text '" << t.removed_text << "'";
    passed += ok;
  }
  std::printf("[ tokenizer ] %d / %zu fixture cases match exactly\n", passed, doc.at("cases").size());
}

TEST(ClipTokenizer, RemovedTextIsWhatTruncationCutOff) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const fs::path path = test::fixture("tokenizer_cases.json");
  SDWALK_REQUIRE_FIXTURE(path);
  const nlohmann::json doc = nlohmann::json::parse(std::ifstream(path));
  int checked = 0;
  for (const auto& c : doc.at("cases")) {
    if (!c.at("truncated").get<bool>()) continue;
    const auto ids = c.at("untruncated_ids").get<std::vector<int64_t>>();
    const TokenizedPrompt t = tokenizer().encode(c.at("prompt").get<std::string>());
    // The kept part and the removed part decode to the whole prompt's decoding.
    const std::string kept = tokenizer().decode(std::vector<int64_t>(ids.begin() + 1, ids.begin() + 76));
    EXPECT_EQ(kept + " " + t.removed_text, tokenizer().decode(std::vector<int64_t>(ids.begin() + 1, ids.end() - 1)))
        << c.at("name");
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no truncated case in " << path;
}

TEST(ClipTokenizer, DecodesAsciiPromptsBackToTheirLowercasedWords) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const fs::path path = test::fixture("tokenizer_cases.json");
  SDWALK_REQUIRE_FIXTURE(path);
  const nlohmann::json doc = nlohmann::json::parse(std::ifstream(path));
  const auto& c = doc.at("cases").at(0);
  const auto ids = c.at("untruncated_ids").get<std::vector<int64_t>>();
  std::string expected = c.at("prompt");
  for (char& ch : expected) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(tokenizer().decode(std::vector<int64_t>(ids.begin() + 1, ids.end() - 1)), expected);
  EXPECT_THROW(tokenizer().decode({int64_t(tokenizer().vocab_size())}), Error);
}

TEST(ClipTokenizer, LoadsTheMiniSd15Tokenizer) {
  const fs::path dir = test::fixture("mini-sd15/tokenizer");
  SDWALK_REQUIRE_FIXTURE(dir / "vocab.json");
  const ClipTokenizer t = ClipTokenizer::load(dir);
  EXPECT_EQ(t.vocab_size(), 49408u);
  EXPECT_EQ(t.max_length(), 77);
  EXPECT_EQ(t.bos_id(), 49406);
  EXPECT_EQ(t.eos_id(), 49407);
  EXPECT_EQ(t.pad_id(), 49407);
}

TEST(ClipTokenizer, RejectsMissingAndMalformedFilesNamingThem) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  EXPECT_NE(error_of("/nonexistent/sdwalk_tokenizer").find("/nonexistent/sdwalk_tokenizer"), std::string::npos);
  EXPECT_NE(error_of(tokenizer_with("vocab.json", "")).find("vocab.json"), std::string::npos);
  EXPECT_NE(error_of(tokenizer_with("merges.txt", "")).find("merges.txt"), std::string::npos);
  const std::string bad_json = error_of(tokenizer_with("vocab.json", "{\"a\": 0, \"b\": "));
  EXPECT_NE(bad_json.find("vocab.json"), std::string::npos) << bad_json;
  EXPECT_NE(bad_json.find("malformed"), std::string::npos) << bad_json;
  const std::string bad_id = error_of(tokenizer_with("vocab.json", "{\"a\": \"zero\"}"));
  EXPECT_NE(bad_id.find("vocab.json"), std::string::npos) << bad_id;
  const std::string bad_merge = error_of(tokenizer_with("merges.txt", "#version: 0.2\ni n\nthree tokens here\n"));
  EXPECT_NE(bad_merge.find("merges.txt: line 3"), std::string::npos) << bad_merge;
  const std::string bad_config = error_of(tokenizer_with("tokenizer_config.json", "[1,"));
  EXPECT_NE(bad_config.find("tokenizer_config.json"), std::string::npos) << bad_config;
  EXPECT_THROW(tokenizer().encode("caf\xc3"), Error);  // not UTF-8
}

TEST(ClipTokenizer, ReproducesTheTextEncoderFixtureIds) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const fs::path path = test::fixture("expected/text_encoder.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors f = SafeTensors::open(path);
  const nlohmann::json prompts = test::metadata_json(f, "prompts");
  ASSERT_TRUE(prompts.is_array());
  const Tensor ids = f.get("input_ids");
  ASSERT_EQ(ids.shape(), (Shape{int64_t(prompts.size()), 77}));
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(tokenizer().encode(prompts[i].get<std::string>()).input_ids, ids_row(ids, int64_t(i))) << prompts[i];
}

// Every <x>_input_ids tensor of a pipeline or walk file against the prompt(s) in its metadata:
// prompt_input_ids <- "prompt", negative_input_ids <- "negative_prompt", prompts_input_ids <- "prompts", ...
// Returns the number of rows checked.
int check_ids_against_metadata(const fs::path& path) {
  const SafeTensors f = SafeTensors::open(path);
  int rows = 0;
  for (const std::string& name : f.names()) {
    if (!name.ends_with("_input_ids")) continue;
    const std::string base = name.substr(0, name.size() - std::string("_input_ids").size());
    nlohmann::json prompts = test::metadata_json(f, base);
    if (prompts.is_null() && !f.metadata().count(base)) prompts = test::metadata_json(f, base + "_prompt");
    if (!prompts.is_array()) prompts = nlohmann::json::array({prompts});
    const Tensor ids = f.get(name);
    EXPECT_EQ(ids.shape(), (Shape{int64_t(prompts.size()), 77})) << path << " " << name;
    if (ids.shape() != Shape{int64_t(prompts.size()), 77}) continue;
    for (size_t i = 0; i < prompts.size(); ++i, ++rows) {
      const std::string text = prompts[i].is_string() ? prompts[i].get<std::string>() : "";  // null -> "" as diffusers
      EXPECT_EQ(tokenizer().encode(text).input_ids, ids_row(ids, int64_t(i))) << path << " " << name << "[" << i << "]";
    }
  }
  return rows;
}

TEST(ClipTokenizer, ReproducesThePipelineFixtureIds) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const auto files = test::fixture_files("expected", "pipeline_", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no pipeline_*.safetensors in " << test::fixture("expected");
  for (const auto& path : files) EXPECT_EQ(check_ids_against_metadata(path), 2) << path;
}

TEST(ClipTokenizer, ReproducesTheWalkFixtureIds) {
  SDWALK_REQUIRE_SD15_TOKENIZER();
  const auto files = test::fixture_files("expected/interpolation", "walk", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no walk*.safetensors in " << test::fixture("expected/interpolation");
  for (const auto& path : files) EXPECT_GE(check_ids_against_metadata(path), 2) << path;
}

// Found by tests/fuzz/tokenizer_fuzz: an empty special token (here bos, with "" in the vocabulary)
// matched at the same position forever, so encode() never returned and grew without bound.
TEST(ClipTokenizer, EmptySpecialTokensAreRefused) {
  const fs::path dir = fs::temp_directory_path() / "sdwalk_tok_empty_special";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.json") << R"({"": 0, "a</w>": 1, "a": 2, "<|startoftext|>": 3, "<|endoftext|>": 4})";
  std::ofstream(dir / "merges.txt") << "#version: 0.2\na </w>\n";
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": ""})";
  EXPECT_EQ(error_of(dir), dir.string() + ": the bos token is empty");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sdwalk
