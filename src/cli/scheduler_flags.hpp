#pragma once
// How the commands that denoise choose their sampling: diffusers' from_config overrides as flags
// (--prediction-type, --timestep-spacing; CLI11 checks the values, so a bad one gets one line naming
// the flag), and the defaults of few-step models (LCM, SD-Turbo-like) when the user gave none.
#include <CLI/CLI.hpp>
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk::cli {

void add_scheduler_override_flags(CLI::App* cmd, SchedulerOverrides& overrides);

// The sampling settings a command may take from the model; `*_given`: the user set it, keep it.
struct SamplingChoice {
  std::string& scheduler;
  int& steps;
  double& guidance_scale;
  bool scheduler_given, steps_given, guidance_given;
};
// When the model's scheduler config makes it a few-step model (few_step_defaults), sets what the
// user did not give and says so in one line on stderr.
void follow_few_step_model(const ModelFiles& files, SamplingChoice choice);

}  // namespace sdwalk::cli
