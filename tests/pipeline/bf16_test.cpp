// bf16 precision against sdwalk's own f32 path: every fixture pipeline run (expected/pipeline_*.safetensors:
// prompt, scheduler, steps, guidance, latents or seed from the file) rendered both ways on the fixture
// model; the images must agree within mean |diff| <= 0.01 and max |diff| <= 0.1 (pixels in [0, 1]).
#include <gtest/gtest.h>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/pipeline_cases.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {
namespace {

const StableDiffusionPipeline& fixture_pipeline(Precision precision) {
  static const StableDiffusionPipeline f32 = StableDiffusionPipeline::load({test::fixture("mini-sd15"), {}, {}});
  static const StableDiffusionPipeline bf16 =
      StableDiffusionPipeline::load({test::fixture("mini-sd15"), {}, {}, Precision::BF16});
  return precision == Precision::BF16 ? bf16 : f32;
}

class Bf16PipelineCase : public ::testing::TestWithParam<std::string> {};

TEST_P(Bf16PipelineCase, ImagesCloseToF32) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16/AMX: bf16 precision is not offered";
  const auto path = test::fixture("expected/" + GetParam());
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const SafeTensors ref = SafeTensors::open(path);
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    const Tensor f32 = test::run_pipeline_case(fixture_pipeline(Precision::F32), ref).image;
    const Tensor bf16 = test::run_pipeline_case(fixture_pipeline(Precision::BF16), ref).image;
    ASSERT_TRUE(f32.defined() && bf16.defined());
    ASSERT_EQ(f32.shape(), bf16.shape());
    const auto d = test::compare(bf16, f32);
    EXPECT_LE(d.mean_abs, 0.01) << d.str() << " threads " << threads;
    EXPECT_LE(d.max_abs, 0.1) << d.str() << " threads " << threads;
    std::printf("[ measured ] %s bf16 vs f32 image, %d thread(s): %s\n", GetParam().c_str(), threads, d.str().c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Bf16PipelineCase, ::testing::ValuesIn(test::pipeline_cases()),
                         test::pipeline_case_name);

}  // namespace
}  // namespace sdwalk
