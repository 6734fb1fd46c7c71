#include "sdwalk/request_checks.hpp"

#include <cstdio>

#include "sdwalk/error.hpp"
#include "sdwalk/memory_estimate.hpp"
#include "sdwalk/model_family.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {
namespace {

// levels - 1 for a config whose block_out_channels lists one entry per level (no downsampling after the last).
int downsamplings(const nlohmann::json& config, const std::string& what) {
  const auto it = config.find("block_out_channels");
  check(it != config.end() && it->is_array() && !it->empty(), what + " config: block_out_channels is missing");
  return int(it->size()) - 1;
}

}  // namespace

int size_multiple(const ModelFiles& files) {
  return 1 << (downsamplings(files.vae_config, "vae") + downsamplings(files.unet_config, "unet"));
}

int vae_scale_factor(const ModelFiles& files) { return 1 << downsamplings(files.vae_config, "vae"); }

Shape latent_shape_for(const ModelFiles& files, int batch, int height, int width) {
  const int m = size_multiple(files), f = vae_scale_factor(files);
  const std::string why = " (the VAE's factor " + std::to_string(f) + " times 2 for each of the UNet's " +
                          std::to_string(downsamplings(files.unet_config, "unet")) + " downsamplings)";
  check(height > 0 && height % m == 0,
        "height " + std::to_string(height) + ": this model needs a positive multiple of " + std::to_string(m) + why);
  check(width > 0 && width % m == 0,
        "width " + std::to_string(width) + ": this model needs a positive multiple of " + std::to_string(m) + why);
  const int64_t channels = files.unet_config.value("in_channels", 4);
  return {batch, channels, height / f, width / f};
}

void check_size_conditioning(const ModelFiles& files, const SizeConditioning& s) {
  const bool given = !s.is_default();
  check(!given || files.is_sdxl(), files.path.string() + " is " + model_family(files).name +
                                       ": original_size / crops_coords_top_left are SDXL's size conditioning "
                                       "(a StableDiffusionXLPipeline model)");
  for (double v : {s.original_size[0], s.original_size[1], s.target_size[0], s.target_size[1]})
    check(v >= 0, "original_size: expected positive sizes (height, width), got a negative one");
  for (double v : s.crops_coords_top_left)
    check(v >= 0, "crops_coords_top_left: expected offsets >= 0 (top, left), got a negative one");
}

void check_invertible(const ModelFiles& files) {
  check(!files.is_sdxl(), files.path.string() + " is SDXL: inversion (sdwalk invert, walk morph, picture keyframes) "
                                                "is not supported on SDXL models yet");
}

void check_scheduler_request(const ModelFiles& files, const std::string& name, int steps) {
  auto scheduler = name.empty() ? make_scheduler_from_config(files.scheduler_config)
                                : make_scheduler(name, files.scheduler_config);
  scheduler->set_timesteps(steps);
}

std::string follow_few_step_model(const ModelFiles& files, Sampling c) {
  const auto few = few_step_defaults(files);
  if (!few || (c.given.scheduler && c.given.steps && c.given.guidance)) return "";
  if (!c.given.scheduler) c.scheduler = few->scheduler;
  if (!c.given.steps) c.steps = few->num_inference_steps;
  if (!c.given.guidance) c.guidance_scale = few->guidance_scale;
  char guidance[32];
  std::snprintf(guidance, sizeof guidance, "%g", c.guidance_scale);
  return files.path.string() + " is " + few->why + ": sampling with scheduler " + c.scheduler + ", " +
         std::to_string(c.steps) + " step(s), guidance " + guidance + " (its few-step defaults; flags override them)";
}

void check_request_memory(const ModelFiles& files, Precision precision, WeightStorage weights, VaeTiling tiling,
                          int images, int height, int width, bool cfg, const MemoryLimit& limit,
                          const std::string& what) {
  const MemoryEstimate e = estimate_memory(files, precision, weights, images, height, width, cfg, tiling);
  if (limit.max_bytes > 0)
    check_memory(e, limit.max_bytes, limit.max_name, what);
  else
    check_memory(e, available_memory_bytes(), "the memory available now (" + limit.max_name + " sets another limit)",
                 what);
}

}  // namespace sdwalk
