// LoRA on mini-sdxl against diffusers 0.30.3 + PEFT (tests/data/sdxl_lora, made by
// tools/reference/sdxl_single_file_and_lora.py): a rank-4 kohya sd-scripts SDXL file (lora_te1_*,
// lora_te2_*, the UNet under the sgm block names) and its diffusers/PEFT copy (unet.*, text_encoder.*,
// text_encoder_2.*). Every kohya module must land on the diffusers module diffusers put it on, with
// diffusers' scaling (key_map.json); expected/sdxl's euler case run with the LoRA must match diffusers'
// run (pipeline_euler_lora.safetensors) within the fixtures' tolerances, merged and as run-time
// branches, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "backend/cpu/ops.hpp"
#include "common/cli_runner.hpp"
#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/sdxl_fixture_run.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/lora.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

fs::path data(const std::string& rel) { return fs::path(SDWALK_SOURCE_DIR) / "tests" / "data" / "sdxl_lora" / rel; }
const char* kKohya = "kohya.safetensors";
const char* kDiffusers = "diffusers/pytorch_lora_weights.safetensors";

#define REQUIRE_SDXL_LORA_DATA()                          \
  do {                                                    \
    SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sdxl"));   \
    SDWALK_REQUIRE_FIXTURE(data(kKohya));                 \
    SDWALK_REQUIRE_FIXTURE(data("pipeline_euler_lora.safetensors")); \
  } while (0)

TEST(SdxlLora, KohyaModulesLandWhereDiffusersPutThem) {
  REQUIRE_SDXL_LORA_DATA();
  SDWALK_REQUIRE_FIXTURE(data("key_map.json"));
  std::ifstream in(data("key_map.json"));
  const nlohmann::json map = nlohmann::json::parse(in);
  const ModelFiles m = load_model_files(test::fixture("mini-sdxl"));
  const LoraAdapter a = load_lora({data(kKohya), 1.0}, m.unet, m.text_encoder, &m.text_encoder_2);
  EXPECT_EQ(a.format, "kohya");
  ASSERT_EQ(a.layers.size(), map.size());
  for (const LoraLayer& l : a.layers) {
    const std::string kohya = l.keys.front().substr(0, l.keys.front().find('.'));
    ASSERT_TRUE(map.contains(kohya)) << kohya;
    const nlohmann::json& want = map[kohya];
    EXPECT_EQ(l.network, want["network"].get<std::string>()) << kohya;
    EXPECT_EQ(l.module, want["module"].get<std::string>()) << kohya;
    EXPECT_EQ(l.scaling, want["scaling"].get<double>()) << kohya;
  }
  EXPECT_EQ(a.layers_in("unet"), 132u);
  EXPECT_EQ(a.layers_in("text_encoder"), 30u);
  EXPECT_EQ(a.layers_in("text_encoder_2"), 30u);
  // The diffusers/PEFT copy: the same modules, scaling 1 (B holds alpha / r).
  const LoraAdapter d = load_lora({data(kDiffusers), 1.0}, m.unet, m.text_encoder, &m.text_encoder_2);
  EXPECT_EQ(d.format, "diffusers");
  EXPECT_EQ(d.layers.size(), a.layers.size());
  EXPECT_EQ(d.layers_in("text_encoder_2"), 30u);
}

TEST(SdxlLora, KeysOfBothLayouts) {
  EXPECT_EQ(parse_lora_key("lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight").network, "text_encoder_2");
  EXPECT_EQ(parse_lora_key("lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha").network, "text_encoder");
  const LoraKey k = parse_lora_key("text_encoder_2.text_model.encoder.layers.3.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(k.network, "text_encoder_2");
  EXPECT_EQ(k.module, "text_model.encoder.layers.3.self_attn.q_proj");
  EXPECT_EQ(k.part, "up");
  const LoraKey u = parse_lora_key("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight");
  EXPECT_EQ(u.network, "unet");
  EXPECT_EQ(u.module, "input_blocks_4_1_transformer_blocks_0_attn1_to_q");
}

TEST(SdxlLora, OnAnSd15ModelIsOneClearLine) {
  SDWALK_REQUIRE_FIXTURE(data(kKohya));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const ModelFiles m = load_model_files(test::fixture("mini-sd15"));
  try {
    load_lora({data(kKohya), 1.0}, m.unet, m.text_encoder);
    FAIL() << "an SDXL LoRA loaded on SD 1.5";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("second text encoder"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

TEST(SdxlLora, InfoCountsThePatchedLayers) {
  REQUIRE_SDXL_LORA_DATA();
  const test::RunResult r = test::run_sdwalk("info " + test::shell_quote(test::fixture("mini-sdxl").string()) +
                                             " --lora " + test::shell_quote(data(kKohya).string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("192 layers patched (unet 132, text_encoder 30, text_encoder_2 30)"), std::string::npos) << r.out;
}

// (LoRA file, mode, threads)
using Param = std::tuple<std::string, LoraMode, int>;

const StableDiffusionPipeline& pipeline(const std::string& file, LoraMode mode) {
  static std::map<std::pair<std::string, int>, StableDiffusionPipeline> cache;
  const auto key = std::make_pair(file, int(mode));
  auto it = cache.find(key);
  if (it == cache.end()) {
    LoadOptions o;
    o.model = test::fixture("mini-sdxl");
    o.loras = {{data(file), 1.0}};
    o.lora_mode = mode;
    it = cache.emplace(key, StableDiffusionPipeline::load(o)).first;
  }
  return it->second;
}

class SdxlLoraPipeline : public ::testing::TestWithParam<Param> {};

TEST_P(SdxlLoraPipeline, MatchesDiffusers) {
  REQUIRE_SDXL_LORA_DATA();
  const auto& [file, mode, threads] = GetParam();
  const SafeTensors ref = SafeTensors::open(data("pipeline_euler_lora.safetensors"));
  const StableDiffusionPipeline& pipe = pipeline(file, mode);
  ASSERT_EQ(pipe.loras().size(), 1u);
  EXPECT_EQ(pipe.loras()[0].text_encoder_2_layers, 30u);
  ops::set_threads(threads);
  const test::SdxlRun run = test::run_sdxl_case(pipe, ref);
  double embeds = 0;
  for (const auto& [ours, name] : {std::pair{&run.cond.embeds, "prompt_embeds"}, std::pair{&run.cond.pooled, "pooled_prompt_embeds"}}) {
    const test::Closeness c = test::closeness(*ours, ref.get_f32(name), test::kModuleTolerance);
    EXPECT_TRUE(c.ok()) << name << ": " << c.str();
    embeds = std::max(embeds, c.worst);
  }
  const Tensor steps = ref.get_f32("step_latents");
  ASSERT_EQ(int64_t(run.steps.size()), steps.dim(0));
  double step_worst = 0;
  for (size_t i = 0; i < run.steps.size(); ++i) {
    const test::Closeness c = test::closeness(run.steps[i], steps.slice0(int64_t(i), int64_t(i) + 1), test::kLatentsTolerance);
    EXPECT_TRUE(c.ok()) << "step " << i << ": " << c.str();
    step_worst = std::max(step_worst, c.worst);
  }
  const test::Closeness latents = test::closeness(run.latents_final, ref.get_f32("latents_final"), test::kLatentsTolerance);
  const test::Closeness image = test::closeness(pipe.decode(run.latents_final), ref.get_f32("image"), test::kImageTolerance);
  EXPECT_TRUE(latents.ok()) << latents.str();
  EXPECT_TRUE(image.ok()) << image.str();
  ops::set_threads(0);
  std::printf("  %s %s, %d thread(s): worst err/tol embeds %.3g, steps %.3g, final latents %.3g (max abs %.3g), image %.3g\n",
              file.c_str(), mode == LoraMode::Merge ? "merged" : "branch", threads, embeds, step_worst, latents.worst,
              latents.max_abs, image.worst);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SdxlLoraPipeline,
                         ::testing::Combine(::testing::Values(std::string(kKohya), std::string(kDiffusers)),
                                            ::testing::Values(LoraMode::Merge, LoraMode::Branch), ::testing::Values(1, 2)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           const std::string file = std::get<0>(info.param) == kKohya ? "kohya" : "diffusers";
                           return file + (std::get<1>(info.param) == LoraMode::Merge ? "_merged_" : "_branch_") +
                                  std::to_string(std::get<2>(info.param)) + "threads";
                         });

}  // namespace
}  // namespace sdwalk
