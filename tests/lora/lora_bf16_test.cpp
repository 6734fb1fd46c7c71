// LoRA in bf16 precision (issue 13 item 5): the kohya style LoRA at scale 1 on mini-sd15, merged and as
// run-time branches, with the UNet and text encoder multiplying in bf16, against diffusers' f32 image of
// expected/lora/pipeline_style_scale1 within bf16's tolerance (tests/pipeline/bf16_test.cpp's: mean
// |diff| <= 0.01, max <= 0.1, pixels in [0, 1]); and farther from the image without the LoRA than that,
// so a LoRA dropped in bf16 cannot pass.
#include <gtest/gtest.h>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/precision.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {
namespace {

// A prompt as the fixture stores it (a string, or null for none).
std::string text_of(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }

Tensor render_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref) {
  const Tensor cond = pipe.encode_prompt(text_of(test::metadata_json(ref, "prompt"))).embeds;
  const Tensor uncond = pipe.encode_prompt(text_of(test::metadata_json(ref, "negative_prompt"))).embeds;
  auto scheduler = make_scheduler(test::metadata_json(ref, "scheduler_class").get<std::string>(),
                                  test::metadata_json(ref, "scheduler_config"));
  DenoiseOptions options;
  options.num_inference_steps = test::metadata_json(ref, "num_inference_steps").get<int>();
  options.guidance_scale = test::metadata_json(ref, "guidance_scale").get<double>();
  return pipe.decode(pipe.denoise(*scheduler, cond, uncond, ref.get_f32("latents_in"), options, nullptr));
}

class LoraBf16 : public ::testing::TestWithParam<LoraMode> {};

TEST_P(LoraBf16, ImageCloseToDiffusersF32) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: bf16 precision is not offered";
  const auto with = test::fixture("expected/lora/pipeline_style_scale1.safetensors");
  const auto without = test::fixture("expected/lora/pipeline_no_lora.safetensors");
  SDWALK_REQUIRE_FIXTURE(with);
  SDWALK_REQUIRE_FIXTURE(without);
  SDWALK_REQUIRE_FIXTURE(test::fixture("lora/style_kohya.safetensors"));
  LoadOptions o;
  o.model = test::fixture("mini-sd15");
  o.precision = Precision::BF16;
  o.loras = {{test::fixture("lora/style_kohya.safetensors"), 1.0}};
  o.lora_mode = GetParam();
  const StableDiffusionPipeline pipe = StableDiffusionPipeline::load(o);
  const SafeTensors ref = SafeTensors::open(with);
  const Tensor image = render_case(pipe, ref);
  const auto d = test::compare(image, ref.get_f32("image"));
  EXPECT_LE(d.mean_abs, 0.01) << d.str();
  EXPECT_LE(d.max_abs, 0.1) << d.str();
  const auto apart = test::compare(image, SafeTensors::open(without).get_f32("image"));
  EXPECT_GT(apart.mean_abs, 0.02) << "the bf16 image is as close to the run without the LoRA: " << apart.str();
  std::printf("[ measured ] bf16 %s vs diffusers f32: %s; vs no LoRA: %s\n",
              GetParam() == LoraMode::Merge ? "merged" : "branch", d.str().c_str(), apart.str().c_str());
}

INSTANTIATE_TEST_SUITE_P(Modes, LoraBf16, ::testing::Values(LoraMode::Merge, LoraMode::Branch),
                         [](const auto& info) { return std::string(info.param == LoraMode::Merge ? "Merged" : "Branch"); });

}  // namespace
}  // namespace sdwalk
