// scheduler_config.json values no model ships, found by tests/fuzz/scheduler_config_fuzz: each is
// an Error naming the problem, not undefined behaviour or gigabytes of betas.
#include <gtest/gtest.h>

#include <functional>

#include "common/error_of.hpp"
#include "sdwalk/error.hpp"
#include "core/python_json.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {
namespace {

using test::error_of;

std::string config_error(const std::string& text) {
  return error_of([&] { make_scheduler_from_config(parse_python_json(text, "scheduler_config.json")); });
}

// int(1e10) and int(NaN) were undefined behaviour (UBSan).
TEST(SchedulerConfig, IntegerKeysOutsideIntRangeAreErrors) {
  EXPECT_NE(config_error(R"({"_class_name": "DDIMScheduler", "num_train_timesteps": 1e10})")
                .find("DDIMScheduler config key \"num_train_timesteps\": expected an integer, got 10000000000.0"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"_class_name": "DDIMScheduler", "steps_offset": NaN})").find("expected an integer"),
            std::string::npos);
  EXPECT_EQ(config_error(R"({"_class_name": "DDIMScheduler", "steps_offset": 1.0})"), "");
}

// NaN betas made NaN timesteps, whose conversion to int64 is undefined behaviour.
TEST(SchedulerConfig, BetasOutsideZeroOneAreErrors) {
  for (const char* text : {R"({"_class_name": "DPMSolverMultistepScheduler", "beta_start": NaN})",
                           R"({"_class_name": "EulerDiscreteScheduler", "beta_end": 1.5})",
                           R"({"_class_name": "PNDMScheduler", "trained_betas": [0.1, -0.1]})"})
    EXPECT_NE(config_error(text).find("betas must lie in (0, 1)"),
              std::string::npos)
        << text;
}

// 1e9 training timesteps asked for 4 GB of betas.
TEST(SchedulerConfig, TrainTimestepsAreBounded) {
  EXPECT_NE(config_error(R"({"_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000000000})")
                .find("num_train_timesteps must be in [1, 1000000], got 1000000000"),
            std::string::npos);
}

// With 9000 linear betas alphas_cumprod underflows to 0: infinite sigmas, NaN Karras timesteps.
TEST(SchedulerConfig, KarrasTimestepsOfAnUnderflowingScheduleAreAnError) {
  auto s = make_scheduler_from_config({{"_class_name", "DPMSolverMultistepScheduler"},
                                       {"use_karras_sigmas", true},
                                       {"num_train_timesteps", 9000},
                                       {"beta_start", 0.00085}});
  EXPECT_NE(error_of([&] { s->set_timesteps(5); }).find("gives infinite sigmas"), std::string::npos);
}

// sigma_to_t interpolates between two training sigmas: with one it read log_sigmas[-1].
TEST(SchedulerConfig, KarrasSigmasNeedTwoTrainingTimesteps) {
  for (const char* cls : {"EulerDiscreteScheduler", "LMSDiscreteScheduler", "DPMSolverMultistepScheduler"}) {
    auto s = make_scheduler_from_config({{"_class_name", cls}, {"use_karras_sigmas", true}, {"num_train_timesteps", 1}});
    EXPECT_NE(error_of([&] { s->set_timesteps(1); }).find("Karras sigmas need at least 2 training timesteps"),
              std::string::npos)
        << cls;
  }
}

}  // namespace
}  // namespace sdwalk
