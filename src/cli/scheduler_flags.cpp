#include "cli/scheduler_flags.hpp"

#include <cstdio>

#include "sdwalk/model_family.hpp"

namespace sdwalk::cli {

void add_scheduler_override_flags(CLI::App* cmd, SchedulerOverrides& o) {
  cmd->add_option("--prediction-type", o.prediction_type,
                  "What the UNet predicts, overriding the model's scheduler config: epsilon or v_prediction "
                  "(SD 2.x 768-v models)")
      ->check(CLI::IsMember({"epsilon", "v_prediction"}));
  cmd->add_option("--timestep-spacing", o.timestep_spacing,
                  "How the steps are spread over the training timesteps, overriding the model's scheduler config: "
                  "linspace, leading or trailing (SD-Turbo-like few-step runs)")
      ->check(CLI::IsMember({"linspace", "leading", "trailing"}));
}

void follow_few_step_model(const ModelFiles& files, SamplingChoice c) {
  const auto few = few_step_defaults(files);
  if (!few || (c.scheduler_given && c.steps_given && c.guidance_given)) return;
  if (!c.scheduler_given) c.scheduler = few->scheduler;
  if (!c.steps_given) c.steps = few->num_inference_steps;
  if (!c.guidance_given) c.guidance_scale = few->guidance_scale;
  std::fprintf(stderr, "%s is %s: sampling with scheduler %s, %d step(s), guidance %g (its few-step defaults; flags "
               "override them)\n", files.path.string().c_str(), few->why.c_str(), c.scheduler.c_str(), c.steps,
               c.guidance_scale);
}

}  // namespace sdwalk::cli
