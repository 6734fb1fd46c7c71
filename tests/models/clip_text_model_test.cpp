// ClipTextModel against transformers' outputs in expected/text_encoder.safetensors, with weights from
// the diffusers folder and from the fp16 single-file checkpoint, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "models/text_encoder_outputs.hpp"
#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_files.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

constexpr double kTolerance = 1e-4;  // max|ours - ref| / max|ref|, DESIGN.md's fp32 bound


void expect_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(ours.numel(), ref.numel()) << what << ": " << shape_string(ours.shape()) << " vs " << shape_string(ref.shape());
  const Diff d = compare(ours, ref);
  EXPECT_LE(d.rel(), kTolerance) << what << ": " << d.str();
  std::printf("  %-40s rel %.3g (%s)\n", what.c_str(), d.rel(), d.str().c_str());
}

void check_against_fixture(const ClipTextModel& model, const std::string& source) {
  const SafeTensors expected = SafeTensors::open(fixture("expected/text_encoder.safetensors"));
  const auto ids = rows_of(expected.get("input_ids"));
  const Tensor all_hidden = expected.get_f32("hidden_states");
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    const std::string tag = source + ", " + std::to_string(threads) + " thread(s): ";
    const auto out = model.forward(ids);
    expect_close(out.last_hidden_state, expected.get_f32("last_hidden_state"), tag + "last_hidden_state");
    expect_close(out.pooler_output, expected.get_f32("pooler_output"), tag + "pooler_output");
    ASSERT_EQ(int64_t(out.hidden_states.size()), all_hidden.dim(1)) << tag;
    for (size_t l = 0; l < out.hidden_states.size(); ++l)
      expect_close(out.hidden_states[l], hidden_state(all_hidden, int64_t(l)), tag + "hidden_states[" + std::to_string(l) + "]");
    expect_close(out.hidden_states[out.hidden_states.size() - 2], expected.get_f32("penultimate_hidden_state"),
                 tag + "penultimate_hidden_state");
    expect_close(model.encode(ids), expected.get_f32("last_hidden_state"), tag + "encode()");
    // clip_skip<N>_prompt_embeds: diffusers' encode_prompt(clip_skip=N).
    const std::regex clip_skip_name("clip_skip([0-9]+)_prompt_embeds");
    int skips = 0;
    for (const auto& name : expected.names()) {
      std::smatch m;
      if (!std::regex_match(name, m, clip_skip_name)) continue;
      expect_close(model.encode(ids, std::stoi(m[1])), expected.get_f32(name), tag + name);
      ++skips;
    }
    EXPECT_GT(skips, 0) << "no clip_skip*_prompt_embeds in the fixture";
  }
}

nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(std::ifstream(p)); }

TEST(ClipTextModel, MatchesTransformersFromSafetensors) {
  const auto weights_path = fixture("mini-sd15/text_encoder/model.safetensors");
  const auto config_path = fixture("mini-sd15/text_encoder/config.json");
  SDWALK_REQUIRE_FIXTURE(weights_path);
  SDWALK_REQUIRE_FIXTURE(config_path);
  SDWALK_REQUIRE_FIXTURE(fixture("expected/text_encoder.safetensors"));
  const SafeTensors file = SafeTensors::open(weights_path);
  Weights weights("text_encoder", weights_path.string());
  for (const auto& name : file.names()) weights.add(name, file.get(name));
  const ClipTextModel model(read_json(config_path), weights);
  EXPECT_EQ(model.hidden_size(), read_json(config_path).at("hidden_size").get<int>());
  check_against_fixture(model, "model.safetensors");
}

TEST(ClipTextModel, MatchesTransformersFromDiffusersFolder) {
  const auto folder = fixture("mini-sd15");
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  SDWALK_REQUIRE_FIXTURE(fixture("expected/text_encoder.safetensors"));
  const ModelFiles files = load_model_files(folder);
  check_against_fixture(ClipTextModel(files.text_encoder_config, files.text_encoder), "diffusers folder");
}

TEST(ClipTextModel, MatchesTransformersFromFp16SingleFile) {
  const auto file = fixture("mini-sd15.fp16.safetensors");
  SDWALK_REQUIRE_FIXTURE(file);
  SDWALK_REQUIRE_FIXTURE(fixture("expected/text_encoder.safetensors"));
  const ModelFiles files = load_model_files(file, {}, fixture("mini-sd15"));
  check_against_fixture(ClipTextModel(files.text_encoder_config, files.text_encoder), "fp16 single file");
}

TEST(ClipTextModel, RejectsBadInputAndConfig) {
  const auto weights_path = fixture("mini-sd15/text_encoder/model.safetensors");
  const auto config_path = fixture("mini-sd15/text_encoder/config.json");
  SDWALK_REQUIRE_FIXTURE(weights_path);
  SDWALK_REQUIRE_FIXTURE(config_path);
  const SafeTensors file = SafeTensors::open(weights_path);
  Weights weights("text_encoder", weights_path.string());
  for (const auto& name : file.names()) weights.add(name, file.get(name));
  nlohmann::json config = read_json(config_path);
  const ClipTextModel model(config, weights);
  const int64_t vocab = config.at("vocab_size").get<int64_t>();
  EXPECT_THROW(model.forward({{49406, vocab}}), Error);                      // id outside the vocabulary
  EXPECT_THROW(model.forward({{49406, 1}, {49406}}), Error);                 // ragged batch
  EXPECT_THROW(model.forward({std::vector<int64_t>(200, 1)}), Error);        // longer than the positions
  EXPECT_THROW(model.encode({{49406, 1}}, model.num_layers() + 1), Error);  // clip_skip beyond the layers
  nlohmann::json wider = config;
  wider["hidden_size"] = config.at("hidden_size").get<int>() * 2;
  EXPECT_THROW(ClipTextModel(wider, weights), Error);  // shapes no longer match
  nlohmann::json act = config;
  act["hidden_act"] = "relu";
  EXPECT_THROW(ClipTextModel(act, weights), Error);
}

}  // namespace
}  // namespace sdwalk::test
