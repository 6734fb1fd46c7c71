#pragma once
// How the commands that denoise choose their sampling: diffusers' from_config overrides as flags
// (--prediction-type, --timestep-spacing; CLI11 checks the values, so a bad one gets one line naming
// the flag). A few-step model's defaults: follow_few_step_model (request_checks.hpp).
#include <CLI/CLI.hpp>
#include <string>

#include "sdwalk/scheduler.hpp"

namespace sdwalk::cli {

void add_scheduler_override_flags(CLI::App* cmd, SchedulerOverrides& overrides);

}  // namespace sdwalk::cli
