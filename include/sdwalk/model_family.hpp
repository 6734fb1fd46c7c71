#pragma once
// Which Stable Diffusion family a loaded model belongs to, and what its scheduler config says about
// how to sample it (few-step models: LCM, SD-Turbo-like), read from the configs alone.
#include <optional>
#include <string>

#include "sdwalk/model_files.hpp"

namespace sdwalk {

struct ModelFamily {
  std::string name;  // "SD 1.x" (CLIP ViT-L text encoder, quick_gelu), "SD 2.x" (OpenCLIP, gelu) or "SDXL" (both)
  bool lcm = false;          // the UNet takes a guidance embedding (time_cond_proj_dim)
  // The model's scheduler config with its class's diffusers defaults filled in.
  std::string scheduler_class, prediction_type, timestep_spacing;
  std::string label() const { return lcm ? name + " LCM" : name; }  // "SD 2.x", "SD 1.x LCM"
};
ModelFamily model_family(const ModelFiles& files);

// Sampling defaults of a few-step model, from its scheduler config: an LCMScheduler (or an LCM UNet)
// samples with lcm, 4 steps, guidance 8.5 (LatentConsistencyModelPipeline's defaults); trailing
// timestep spacing (SD-Turbo's Euler config) means the model's scheduler, 1 step, guidance 0 (no
// CFG), as SD-Turbo's model card runs it. nullopt for other models.
struct FewStepDefaults {
  std::string why;        // e.g. "an LCM model (LCMScheduler)"
  std::string scheduler;  // short name
  int num_inference_steps = 0;
  double guidance_scale = 0;
};
std::optional<FewStepDefaults> few_step_defaults(const ModelFiles& files);

}  // namespace sdwalk
