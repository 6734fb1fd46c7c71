#include "sdwalk/model_family.hpp"

#include "sdwalk/scheduler.hpp"

namespace sdwalk {
namespace {

// SchedulerConfig of the model's scheduler_config (class defaults filled in); nullopt when the
// class is one sdwalk does not run.
std::optional<SchedulerConfig> scheduler_config_of(const ModelFiles& f) {
  try {
    return SchedulerConfig::from_json(f.scheduler_config);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

ModelFamily model_family(const ModelFiles& f) {
  ModelFamily m;
  // SD 2 replaced OpenAI's CLIP ViT-L (quick_gelu) by OpenCLIP ViT-H (exact gelu, 1024 wide).
  const bool open_clip = f.text_encoder_config.value("hidden_act", "quick_gelu") == "gelu" ||
                         f.unet_config.value("cross_attention_dim", nlohmann::json()) == 1024;
  m.name = f.is_sdxl() ? "SDXL" : open_clip ? "SD 2.x" : "SD 1.x";
  m.lcm = f.unet_config.value("time_cond_proj_dim", nlohmann::json()).is_number_integer();
  if (const auto c = scheduler_config_of(f)) {
    m.scheduler_class = c->class_name;
    m.prediction_type = c->prediction_type;
    m.timestep_spacing = c->timestep_spacing;
  }
  return m;
}

std::optional<FewStepDefaults> few_step_defaults(const ModelFiles& f) {
  const ModelFamily m = model_family(f);
  if (m.scheduler_class == "LCMScheduler" || m.lcm)
    return FewStepDefaults{m.lcm ? "an LCM model (UNet with time_cond_proj_dim)" : "an LCM model (LCMScheduler)", "lcm",
                           4, 8.5};
  if (m.timestep_spacing == "trailing" && m.scheduler_class == "EulerDiscreteScheduler")
    return FewStepDefaults{"an SD-Turbo-like model (Euler, trailing timestep spacing)", "euler", 1, 0.0};
  return std::nullopt;
}

}  // namespace sdwalk
