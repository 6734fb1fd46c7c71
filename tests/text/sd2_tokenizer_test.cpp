// The SD 2.x tokenizer (mini-sd21/tokenizer: pad_token "!"), against expected/sd21/: padding with id 0
// and every "!" of a prompt split out as the special token (transformers' slow tokenizer, diffusers #4153).
#include <gtest/gtest.h>

#include "common/fixtures.hpp"
#include "sdwalk/clip_tokenizer.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

std::vector<int64_t> ids_row(const Tensor& ids, int64_t row) {
  const int64_t n = ids.shape().back();
  const int64_t* p = ids.data<int64_t>() + row * n;
  return std::vector<int64_t>(p, p + n);
}

TEST(Sd2Tokenizer, PadsWithTheConfiguredPadToken) {
  const auto dir = test::fixture("mini-sd21/tokenizer");
  const auto path = test::fixture("expected/sd21/text_encoder.safetensors");
  SDWALK_REQUIRE_FIXTURE(dir);
  SDWALK_REQUIRE_FIXTURE(path);
  const ClipTokenizer tok = ClipTokenizer::load(dir);
  const SafeTensors f = SafeTensors::open(path);
  EXPECT_EQ(tok.pad_id(), test::metadata_json(f, "pad_token_id").get<int64_t>());
  const nlohmann::json prompts = test::metadata_json(f, "prompts");
  const nlohmann::json tokens = test::metadata_json(f, "tokens");
  const Tensor ids = f.get("input_ids");
  ASSERT_EQ(ids.shape(), (Shape{int64_t(prompts.size()), 77}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const TokenizedPrompt t = tok.encode(prompts[i].get<std::string>());
    EXPECT_EQ(t.input_ids, ids_row(ids, int64_t(i))) << prompts[i];
    // The token strings of the padded ids, as transformers' convert_ids_to_tokens lists them.
    if (tokens.is_array() && i < tokens.size()) {
      std::vector<std::string> ours;
      for (int64_t id : t.input_ids) ours.push_back(tok.token(id));
      EXPECT_EQ(ours, tokens[i].get<std::vector<std::string>>()) << prompts[i];
    }
  }
  const Tensor untruncated = f.get("untruncated_input_ids_0");
  EXPECT_EQ(tok.encode(prompts[0].get<std::string>()).untruncated_ids, ids_row(untruncated, 0));
}

// The pipeline files' prompt ids (and negative ids where CFG ran) from their metadata prompts.
TEST(Sd2Tokenizer, ReproducesThePipelineFixtureIds) {
  const auto dir = test::fixture("mini-sd21/tokenizer");
  SDWALK_REQUIRE_FIXTURE(dir);
  const auto files = test::fixture_files("expected/sd21", "pipeline_", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no pipeline_*.safetensors in " << test::fixture("expected/sd21");
  const ClipTokenizer tok = ClipTokenizer::load(dir);
  for (const auto& path : files) {
    const SafeTensors f = SafeTensors::open(path);
    for (const auto& [tensor, key] : {std::pair{"prompt_input_ids", "prompt"}, {"negative_input_ids", "negative_prompt"}}) {
      if (!f.contains(tensor)) continue;
      const nlohmann::json text = test::metadata_json(f, key);
      EXPECT_EQ(tok.encode(text.is_string() ? text.get<std::string>() : "").input_ids, ids_row(f.get(tensor), 0))
          << path << " " << tensor;
    }
  }
}

}  // namespace
}  // namespace sdwalk
