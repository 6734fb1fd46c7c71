// diffusers' StableDiffusionXLPipeline on mini-sdxl (expected/sdxl/): encode_prompt (both encoders'
// penultimate states side by side, the pooled text_embeds, force_zeros_for_empty_prompt's zero
// negatives), and the Euler runs pipeline_*.safetensors (given latents / a generator seed, no negative /
// a negative prompt with original_size and crops_coords_top_left): the embeddings and add_time_ids the
// UNet got, every step's latents, the final latents and the image, at 1 and 2 threads.
// Tolerances: the fixtures README's section 8 (modules, latents, images).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/sdxl_fixture_run.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {
namespace {

using test::closeness;
using test::Tolerance;

const char* kModel = "mini-sdxl";
constexpr Tolerance kExact{1e-30, 0};  // zeros and integer time ids: equal

const StableDiffusionPipeline& pipeline() {
  static std::unique_ptr<StableDiffusionPipeline> p;
  if (!p) {
    LoadOptions o;
    o.model = test::fixture(kModel);
    p = std::make_unique<StableDiffusionPipeline>(StableDiffusionPipeline::load(o));
  }
  return *p;
}

double check(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
  EXPECT_TRUE(ours.defined()) << what << ": not computed";
  if (!ours.defined()) return 0;
  const test::Closeness c = closeness(ours, ref, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.str();
  return c.worst;
}

class SdxlEncodePrompt : public ::testing::TestWithParam<int> {};

TEST_P(SdxlEncodePrompt, MatchesDiffusers) {
  const auto path = test::fixture("expected/sdxl/text_encoders.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture(kModel));
  const SafeTensors ref = SafeTensors::open(path);
  const StableDiffusionPipeline& pipe = pipeline();
  ops::set_threads(GetParam());
  ASSERT_TRUE(pipe.is_sdxl());
  const nlohmann::json prompts = test::metadata_json(ref, "prompts");
  const Tensor embeds = ref.get_f32("prompt_embeds"), pooled = ref.get_f32("pooled_prompt_embeds");
  double worst = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const int64_t b = int64_t(i);
    const EncodedPrompt e = pipe.encode_prompt(prompts[i].get<std::string>());
    // The tokenizers as diffusers ran them (the second pads with "!" = 0).
    const Tensor ids = ref.get("input_ids");
    EXPECT_EQ(std::memcmp(e.tokens.input_ids.data(), ids.data<int64_t>() + b * 77, 77 * sizeof(int64_t)), 0);
    worst = std::max(worst, check(e.embeds, embeds.slice0(b, b + 1), test::kModuleTolerance, "prompt_embeds " + std::to_string(i)));
    worst = std::max(worst, check(e.pooled, pooled.slice0(b, b + 1), test::kModuleTolerance, "pooled " + std::to_string(i)));
    // force_zeros_for_empty_prompt: no negative prompt -> zeros of the same shapes.
    const EncodedPrompt zero = pipe.encode_negative_prompt("");
    check(zero.embeds, ref.get_f32("negative_prompt_embeds_zeros").slice0(b, b + 1), kExact, "negative zeros");
    check(zero.pooled, ref.get_f32("negative_pooled_prompt_embeds_zeros").slice0(b, b + 1), kExact, "pooled zeros");
  }
  ops::set_threads(0);
  std::printf("  %d thread(s): encode_prompt worst err/tol %.3g\n", GetParam(), worst);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SdxlEncodePrompt, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) { return std::to_string(info.param) + "threads"; });

std::vector<std::string> cases() {
  std::vector<std::string> out;
  for (const auto& p : test::fixture_files("expected/sdxl", "pipeline_", ".safetensors")) out.push_back(p.filename().string());
  if (out.empty()) out.push_back("pipeline_absent.safetensors");  // reported as skipped
  return out;
}

using test::run_sdxl_case;
using test::SdxlRun;

class SdxlPipeline : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(SdxlPipeline, MatchesDiffusers) {
  const auto& [file, threads] = GetParam();
  const auto path = test::fixture("expected/sdxl/" + file);
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture(kModel));
  const SafeTensors ref = SafeTensors::open(path);
  const StableDiffusionPipeline& pipe = pipeline();
  ops::set_threads(threads);
  ASSERT_TRUE(pipe.uses_cfg(test::metadata_json(ref, "guidance_scale").get<double>()));
  const int height = test::metadata_json(ref, "height").get<int>(), width = test::metadata_json(ref, "width").get<int>();
  const SdxlRun run = run_sdxl_case(pipe, ref);

  // Conditioning: the prompt, the negative (zeros when none), add_time_ids from the sizes.
  double embeds = 0;
  embeds = std::max(embeds, check(run.cond.embeds, ref.get_f32("prompt_embeds"), test::kModuleTolerance, "prompt_embeds"));
  embeds = std::max(embeds, check(run.cond.pooled, ref.get_f32("pooled_prompt_embeds"), test::kModuleTolerance, "pooled"));
  embeds = std::max(embeds, check(run.uncond.embeds, ref.get_f32("negative_prompt_embeds"), test::kModuleTolerance,
                                  "negative_prompt_embeds"));
  embeds = std::max(embeds, check(run.uncond.pooled, ref.get_f32("negative_pooled_prompt_embeds"),
                                  test::kModuleTolerance, "negative_pooled_prompt_embeds"));
  check(run.time_ids, ref.get_f32("add_time_ids"), kExact, "add_time_ids");
  check(run.time_ids, ref.get_f32("negative_add_time_ids"), kExact, "negative_add_time_ids");
  EXPECT_EQ(run.latents.shape(), (Shape{1, 4, height / 2, width / 2})) << "mini-sdxl's VAE has 2 blocks: latents are H/2";
  if (ref.contains("latents_in") && !test::metadata_json(ref, "generator_seed").is_number()) {
    EXPECT_EQ(std::memcmp(run.latents.raw(), ref.get_f32("latents_in").raw(), run.latents.nbytes()), 0);
  }

  const Tensor t = ref.get("timesteps").to_f32();
  EXPECT_EQ(run.timesteps, std::vector<double>(t.f32(), t.f32() + t.numel()));
  const Tensor ref_steps = ref.get_f32("step_latents");
  ASSERT_EQ(int64_t(run.steps.size()), ref_steps.dim(0));
  double step_worst = 0;
  for (size_t i = 0; i < run.steps.size(); ++i)
    step_worst = std::max(step_worst, check(run.steps[i], ref_steps.slice0(int64_t(i), int64_t(i) + 1),
                                            test::kLatentsTolerance, "step " + std::to_string(i)));
  const double final_worst =
      check(run.latents_final, ref.get_f32("latents_final"), test::kLatentsTolerance, "latents_final");
  const double image_worst = check(pipe.decode(run.latents_final), ref.get_f32("image"), test::kImageTolerance, "image");
  ops::set_threads(0);
  std::printf("  %s, %d thread(s): worst err/tol: embeds %.3g, step latents %.3g, final latents %.3g, image %.3g\n",
              file.c_str(), threads, embeds, step_worst, final_worst, image_worst);
}

// bf16 against sdwalk's f32 path (as tests/pipeline/bf16_test.cpp for SD 1.5: mean |diff| <= 0.01, max
// <= 0.1 on the images), and force_upcast: the bf16 pipeline's VAE decodes in f32, the same bits as f32's.
TEST_P(SdxlPipeline, Bf16CloseToF32WithTheVaeInF32) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: bf16 precision is not offered";
  const auto& [file, threads] = GetParam();
  const auto path = test::fixture("expected/sdxl/" + file);
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture(kModel));
  const SafeTensors ref = SafeTensors::open(path);
  static std::unique_ptr<StableDiffusionPipeline> bf16;
  if (!bf16) {
    LoadOptions o;
    o.model = test::fixture(kModel);
    o.precision = Precision::BF16;
    bf16 = std::make_unique<StableDiffusionPipeline>(StableDiffusionPipeline::load(o));
  }
  ops::set_threads(threads);
  const Tensor stored = ref.get_f32("latents_final");
  const Tensor a = pipeline().decode(stored), b = bf16->decode(stored);
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << "force_upcast: the VAE must decode in f32";
  const Tensor f32_image = pipeline().decode(run_sdxl_case(pipeline(), ref).latents_final);
  const Tensor bf16_image = bf16->decode(run_sdxl_case(*bf16, ref).latents_final);
  const auto d = test::compare(bf16_image, f32_image);
  EXPECT_LE(d.mean_abs, 0.01) << d.str();
  EXPECT_LE(d.max_abs, 0.1) << d.str();
  ops::set_threads(0);
  std::printf("[ measured ] %s bf16 vs f32 image, %d thread(s): %s\n", file.c_str(), threads, d.str().c_str());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SdxlPipeline, ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values(1, 2)),
                         [](const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
                           std::string name = std::get<0>(info.param);
                           name = name.substr(0, name.find('.'));
                           return name + "_" + std::to_string(std::get<1>(info.param)) + "threads";
                         });

}  // namespace
}  // namespace sdwalk
