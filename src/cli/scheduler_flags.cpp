#include "cli/scheduler_flags.hpp"

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

}  // namespace sdwalk::cli
