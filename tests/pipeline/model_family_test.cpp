// model_family / few_step_defaults on every fixture model: the family from the text encoder, the
// prediction type and spacing from the scheduler config, the few-step defaults from LCM configs
// (and from a trailing-spacing Euler config, SD-Turbo's).
#include "sdwalk/model_family.hpp"

#include <gtest/gtest.h>

#include "common/fixtures.hpp"

namespace sdwalk {
namespace {

TEST(ModelFamily, NamesEachFixtureModel) {
  struct Case {
    const char* path;
    const char* label;
    const char* prediction_type;
    const char* timestep_spacing;
  };
  int seen = 0;
  for (const Case& c : {Case{"mini-sd15", "SD 1.x", "epsilon", "linspace"},
                        Case{"mini-sd21", "SD 2.x", "v_prediction", "leading"},
                        Case{"single-files/mini-sd21.fp16.safetensors", "SD 2.x", "v_prediction", "leading"},
                        Case{"mini-lcm", "SD 1.x LCM", "epsilon", "leading"}}) {
    if (!std::filesystem::exists(test::fixture(c.path))) continue;
    const ModelFamily f = model_family(load_model_files(test::fixture(c.path)));
    EXPECT_EQ(f.label(), c.label) << c.path;
    EXPECT_EQ(f.prediction_type, c.prediction_type) << c.path;
    EXPECT_EQ(f.timestep_spacing, c.timestep_spacing) << c.path;
    ++seen;
  }
  if (seen == 0) GTEST_SKIP() << "no fixture model in " << test::fixtures_dir();
}

TEST(ModelFamily, FewStepDefaultsFollowTheSchedulerConfig) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-lcm"));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd21"));
  const auto lcm = few_step_defaults(load_model_files(test::fixture("mini-lcm")));
  ASSERT_TRUE(lcm.has_value());
  EXPECT_EQ(lcm->scheduler, "lcm");
  EXPECT_EQ(lcm->num_inference_steps, 4);
  EXPECT_EQ(lcm->guidance_scale, 8.5);
  ModelFiles sd21 = load_model_files(test::fixture("mini-sd21"));
  EXPECT_FALSE(few_step_defaults(sd21).has_value());
  // SD-Turbo's scheduler config: Euler with trailing spacing (and epsilon).
  sd21.scheduler_config["_class_name"] = "EulerDiscreteScheduler";
  sd21.scheduler_config["timestep_spacing"] = "trailing";
  const auto turbo = few_step_defaults(sd21);
  ASSERT_TRUE(turbo.has_value());
  EXPECT_EQ(turbo->scheduler, "euler");
  EXPECT_EQ(turbo->num_inference_steps, 1);
  EXPECT_EQ(turbo->guidance_scale, 0.0);
}

}  // namespace
}  // namespace sdwalk
