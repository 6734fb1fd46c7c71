// Full text-to-image runs against diffusers' StableDiffusionPipeline (expected/pipeline_*.safetensors).
#include "sdwalk/stable_diffusion_pipeline.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/pipeline_cases.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/torch_generator.hpp"

namespace sdwalk {
namespace {

const StableDiffusionPipeline& fixture_pipeline() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::fixture("mini-sd15"), {}, {}});
  return p;
}

class PipelineCase : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineCase, MatchesDiffusers) {
  const auto path = test::fixture("expected/" + GetParam());
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const SafeTensors ref = SafeTensors::open(path);
  const auto& pipe = fixture_pipeline();

  const test::PipelineCaseRun run = test::run_pipeline_case(pipe, ref);
  EXPECT_LE(test::compare(run.cond.embeds, ref.get("prompt_embeds")).rel(), 1e-4);
  EXPECT_LE(test::compare(run.uncond.embeds, ref.get("negative_prompt_embeds")).rel(), 1e-4);
  if (ref.contains("step_latents")) {
    const Tensor ref_steps = ref.get_f32("step_latents");
    ASSERT_EQ(int64_t(run.step_latents.size()), ref_steps.dim(0));
    for (size_t i = 0; i < run.step_latents.size(); ++i)
      EXPECT_LE(test::compare(run.step_latents[i], ref_steps.slice0(int64_t(i), int64_t(i) + 1)).rel(), 1e-3)
          << "step " << i;
  }
  const auto latent_diff = test::compare(run.final_latents, ref.get("latents_final"));
  EXPECT_LE(latent_diff.rel(), 1e-3) << latent_diff.str();
  const auto image_diff = test::compare(run.image, ref.get("image"));
  EXPECT_LE(image_diff.max_abs, 2e-3) << image_diff.str();
  std::printf("[ %s ] latents %s | image %s\n", GetParam().c_str(), latent_diff.str().c_str(), image_diff.str().c_str());
}

// mini-sd15's weights are all exactly representable in fp16 (fixtures README), so keeping them as
// fp16 (--weights f16) must change nothing at all: same latents, same image, bit for bit.
TEST(PipelineWeights, Fp16StorageOfFp16ExactWeightsGivesTheSameImage) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  LoadOptions f16_options{test::fixture("mini-sd15"), {}, {}, Precision::F32, WeightStorage::F16};
  const StableDiffusionPipeline f16 = StableDiffusionPipeline::load(f16_options);
  f16_options.weights = WeightStorage::F32;
  const StableDiffusionPipeline f32 = StableDiffusionPipeline::load(f16_options);
  auto image = [](const StableDiffusionPipeline& pipe) {
    const auto cond = pipe.encode_prompt("a red circle");
    const auto uncond = pipe.encode_prompt("");
    auto scheduler = pipe.make_scheduler("euler");
    TorchGenerator generator(7);
    const Tensor noise = generator.randn(pipe.latent_shape(1, 64, 64));
    return pipe.decode(pipe.denoise(*scheduler, cond.embeds, uncond.embeds, noise, {4, 7.5}, nullptr));
  };
  const Tensor a = image(f16), b = image(f32);
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << test::compare(a, b).str();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PipelineCase, ::testing::ValuesIn(test::pipeline_cases()),
                         test::pipeline_case_name);

}  // namespace
}  // namespace sdwalk
