// LoRA on mini-sd15 against diffusers 0.30.3 + PEFT (fixtures README section 11): the text encoder's
// prompt embeddings, one UNet call and whole 4-step LMS pipelines with the kohya file at scales 1 and
// 0.5, its diffusers/PEFT copy, the fused run and two adapters; each merged into the weights and as
// run-time branches, at 1 and 2 threads. Cases come from the files; missing files skip.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/fixture_pipeline_run.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {
namespace {

const char* kModel = "mini-sd15";
const char* kStyle = "lora/style_kohya.safetensors";
const char* kStyleDiffusers = "lora/style_diffusers/pytorch_lora_weights.safetensors";
const char* kDetail = "lora/detail_kohya.safetensors";

// The LoRAs of a fixture case, by the suffix diffusers' script gave it. `style` is the kohya file or
// its diffusers copy. Adapters: set_adapters(["style", "detail"], [0.8, 0.6]) at scale 1.
std::vector<LoraSpec> loras_of(const std::string& suffix, const std::string& style) {
  if (suffix == "no_lora") return {};
  if (suffix == "style_scale1") return {{test::fixture(style), 1.0}};
  if (suffix == "style_scale0.5" || suffix == "style_fused_scale0.5") return {{test::fixture(style), 0.5}};
  if (suffix == "adapters") return {{test::fixture(style), 0.8}, {test::fixture(kDetail), 0.6}};
  return {};
}

bool known(const std::string& suffix) {
  return suffix == "no_lora" || suffix == "style_scale1" || suffix == "style_scale0.5" ||
         suffix == "style_fused_scale0.5" || suffix == "adapters";
}

const StableDiffusionPipeline& pipeline(const std::string& suffix, const std::string& style, LoraMode mode) {
  static std::map<std::tuple<std::string, std::string, int>, StableDiffusionPipeline> cache;
  const auto key = std::make_tuple(suffix, style, int(mode));
  auto it = cache.find(key);
  if (it == cache.end()) {
    LoadOptions o;
    o.model = test::fixture(kModel);
    o.loras = loras_of(suffix, style);
    o.lora_mode = mode;
    it = cache.emplace(key, StableDiffusionPipeline::load(o)).first;
  }
  return it->second;
}

bool fixtures_present(const std::string& style) {
  return std::filesystem::exists(test::fixture(kModel)) && std::filesystem::exists(test::fixture(style)) &&
         std::filesystem::exists(test::fixture(kDetail));
}

// (expected file's tensor suffix, LoRA file for "style", mode, threads)
using Param = std::tuple<std::string, std::string, LoraMode, int>;

std::vector<std::string> suffixes(const std::string& file, const std::string& prefix) {
  std::vector<std::string> out;
  const auto path = test::fixture("expected/lora/" + file);
  if (std::filesystem::exists(path)) {
    const SafeTensors ref = SafeTensors::open(path);
    for (const std::string& name : ref.names())
      if (name.rfind(prefix, 0) == 0 && known(name.substr(prefix.size()))) out.push_back(name.substr(prefix.size()));
  }
  if (out.empty()) out.push_back("absent");  // reported as skipped
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string n = std::get<0>(info.param);
  n += std::get<1>(info.param) == kStyle ? "_kohya" : "_diffusers";
  n += std::get<2>(info.param) == LoraMode::Merge ? "_merged_" : "_branch_";
  n += std::to_string(std::get<3>(info.param));
  n += "threads";
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

#define SDWALK_LORA_SETUP(file)                                                                           \
  const auto& [suffix, style, mode, threads] = GetParam();                                                \
  const auto path = test::fixture(std::string("expected/lora/") + file);                                 \
  SDWALK_REQUIRE_FIXTURE(path);                                                                           \
  SDWALK_REQUIRE_FIXTURE_WHY(fixtures_present(style), "mini-sd15 or a LoRA file of lora/ is absent");     \
  SDWALK_REQUIRE_FIXTURE_WHY(known(suffix), "no case");                                                   \
  const SafeTensors ref = SafeTensors::open(path);                                                        \
  const StableDiffusionPipeline& pipe = pipeline(suffix, style, mode);                                    \
  ops::set_threads(threads)

class LoraTextEncoder : public ::testing::TestWithParam<Param> {};

TEST_P(LoraTextEncoder, MatchesDiffusers) {
  SDWALK_LORA_SETUP("text_encoder.safetensors");
  const nlohmann::json prompts = test::metadata_json(ref, "prompts");
  const Tensor expected = ref.get_f32("prompt_embeds_" + suffix);
  ASSERT_EQ(int64_t(prompts.size()), expected.dim(0));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Tensor ours = pipe.encode_prompt(prompts[i].get<std::string>()).embeds;
    const test::Closeness c = test::closeness(ours, expected.slice0(int64_t(i), int64_t(i) + 1), test::kModuleTolerance);
    EXPECT_TRUE(c.ok()) << "prompt " << i << ": " << c.str();
  }
  ops::set_threads(0);
}

class LoraUnet : public ::testing::TestWithParam<Param> {};

TEST_P(LoraUnet, MatchesDiffusers) {
  SDWALK_LORA_SETUP("unet.safetensors");
  const Tensor t = ref.get("timestep");
  const double timestep = double(t.dtype() == DType::I64 ? t.data<int64_t>()[0] : t.to_f32().f32()[0]);
  const Tensor ours = pipe.unet().forward(ref.get_f32("sample"), timestep, ref.get_f32("encoder_hidden_states"));
  const test::Closeness c = test::closeness(ours, ref.get_f32("model_output_" + suffix), test::kModuleTolerance);
  EXPECT_TRUE(c.ok()) << c.str();
  std::printf("[ unet %s ] %s\n", suffix.c_str(), c.str().c_str());
  ops::set_threads(0);
}

class LoraPipeline : public ::testing::TestWithParam<Param> {};

TEST_P(LoraPipeline, MatchesDiffusers) {
  SDWALK_LORA_SETUP("pipeline_" + suffix + ".safetensors");
  auto scheduler = make_scheduler(test::metadata_json(ref, "scheduler_class").get<std::string>(),
                                  test::metadata_json(ref, "scheduler_config"));
  const auto report = test::replay_pipeline_case(pipe, ref, *scheduler, "latents_final");
  std::printf("[ pipeline %s ] %s\n", suffix.c_str(), report.str().c_str());
  ops::set_threads(0);
}

std::vector<std::string> pipeline_suffixes() {
  std::vector<std::string> out;
  for (const auto& p : test::fixture_files("expected/lora", "pipeline_", ".safetensors")) {
    std::string s = p.stem().string().substr(9);
    if (known(s)) out.push_back(s);
  }
  if (out.empty()) out.push_back("absent");
  return out;
}

const auto kModes = ::testing::Values(LoraMode::Merge, LoraMode::Branch);
const auto kThreads = ::testing::Values(1, 2);

INSTANTIATE_TEST_SUITE_P(Kohya, LoraTextEncoder,
                         ::testing::Combine(::testing::ValuesIn(suffixes("text_encoder.safetensors", "prompt_embeds_")),
                                            ::testing::Values(kStyle), kModes, kThreads),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Kohya, LoraUnet,
                         ::testing::Combine(::testing::ValuesIn(suffixes("unet.safetensors", "model_output_")),
                                            ::testing::Values(kStyle), kModes, kThreads),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Kohya, LoraPipeline,
                         ::testing::Combine(::testing::ValuesIn(pipeline_suffixes()), ::testing::Values(kStyle), kModes,
                                            kThreads),
                         param_name);
// The diffusers/PEFT copy of the style LoRA gives the same outputs (the adapters case needs detail,
// which has no copy: kohya + diffusers files mixed).
INSTANTIATE_TEST_SUITE_P(Diffusers, LoraTextEncoder,
                         ::testing::Combine(::testing::ValuesIn(suffixes("text_encoder.safetensors", "prompt_embeds_")),
                                            ::testing::Values(kStyleDiffusers), kModes, kThreads),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Diffusers, LoraUnet,
                         ::testing::Combine(::testing::ValuesIn(suffixes("unet.safetensors", "model_output_")),
                                            ::testing::Values(kStyleDiffusers), kModes, kThreads),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Diffusers, LoraPipeline,
                         ::testing::Combine(::testing::ValuesIn(pipeline_suffixes()), ::testing::Values(kStyleDiffusers),
                                            kModes, kThreads),
                         param_name);

// The text encoder's hidden states with the LoRA at scale 1 (output_hidden_states=True): the last one.
TEST(LoraTextEncoderHidden, LastHiddenStateMatches) {
  const auto path = test::fixture("expected/lora/text_encoder.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE_WHY(fixtures_present(kStyle), "mini-sd15 or a LoRA file of lora/ is absent");
  const SafeTensors ref = SafeTensors::open(path);
  SDWALK_REQUIRE_FIXTURE_WHY(ref.contains("style_scale1_last_hidden_state"), "no style_scale1_last_hidden_state");
  // SD 1.x feeds the UNet the last hidden state (final LayerNorm applied): prompt_embeds_style_scale1.
  const Tensor a = ref.get_f32("style_scale1_last_hidden_state"), b = ref.get_f32("prompt_embeds_style_scale1");
  EXPECT_TRUE(test::closeness(a, b, test::kModuleTolerance).ok());
}

}  // namespace
}  // namespace sdwalk
