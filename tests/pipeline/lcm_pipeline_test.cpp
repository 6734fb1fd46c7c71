// diffusers' LatentConsistencyModelPipeline (expected/lcm/pipeline_lcm_<n>step.safetensors) on the
// mini-lcm folder with its own LCMScheduler: the guidance enters as w = guidance - 1 through the
// UNet's time_cond_proj_dim embedding, one UNet batch per step (no CFG), at 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/fixture_pipeline_run.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {
namespace {

std::vector<std::string> cases() {
  std::vector<std::string> out;
  for (const auto& p : test::fixture_files("expected/lcm", "pipeline_", ".safetensors")) out.push_back(p.filename().string());
  if (out.empty()) out.push_back("pipeline_absent.safetensors");  // reported as skipped
  return out;
}

const StableDiffusionPipeline& pipeline() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::fixture("mini-lcm"), {}, {}});
  return p;
}

class LcmPipeline : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(LcmPipeline, MatchesDiffusers) {
  const auto& [file, threads] = GetParam();
  const auto path = test::fixture("expected/lcm/" + file);
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-lcm"));
  const SafeTensors ref = SafeTensors::open(path);
  const StableDiffusionPipeline& pipe = pipeline();
  ops::set_threads(threads);
  // The model's own scheduler (mini-lcm/scheduler) is the one diffusers ran.
  auto scheduler = pipe.make_scheduler("");
  EXPECT_EQ(scheduler->class_name(), test::metadata_json(ref, "scheduler_class").get<std::string>());
  const double guidance = test::metadata_json(ref, "guidance_scale").get<double>();
  const Tensor w = guidance_scale_embedding(guidance - 1.0, pipe.unet().time_cond_proj_dim());
  // 2 ulps of the sin argument 1000 w: see tests/models/lcm_unet_test.cpp.
  const double arg_ulp = std::ldexp(1.0, std::ilogb(1000.0 * (guidance - 1.0)) - 23);
  const test::Closeness wc = test::closeness(w, ref.get("w_embedding"), {2 * arg_ulp, 0});
  EXPECT_TRUE(wc.ok()) << "w_embedding: " << wc.str();

  const auto report = test::replay_pipeline_case(pipe, ref, *scheduler, "denoised_final");
  std::printf("[ %s, %d thread(s) ] w_embedding %s | %s\n", file.c_str(), threads, wc.str().c_str(),
              report.str().c_str());
  ops::set_threads(0);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
  std::string n = std::get<0>(info.param).substr(0, std::get<0>(info.param).find('.'));
  // Appended piece by piece: GCC 12 warns falsely on "_" + string (-Wrestrict, bug 105329).
  n += "_";
  n += std::to_string(std::get<1>(info.param));
  n += "threads";
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LcmPipeline, ::testing::Combine(::testing::ValuesIn(cases()), ::testing::Values(1, 2)),
                         case_name);

}  // namespace
}  // namespace sdwalk
