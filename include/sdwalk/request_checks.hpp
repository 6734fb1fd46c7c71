#pragma once
// Checks of a request against a model's files alone (its configs, and the scheduler built from
// them): cheap enough to run before the networks are built and before anything is written, so a
// request the model cannot run fails at once instead of after its first frame.
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk {

// Image sizes must be multiples of this: the VAE's factor (8 for SD) times 2 for each UNet
// downsampling (SD 1.5's four levels: 8 * 2^3 = 64).
int size_multiple(const ModelFiles& files);
// [batch, latent channels, height / f, width / f]; Error naming the multiple when the size is not one.
Shape latent_shape_for(const ModelFiles& files, int batch, int height, int width);
// Pixels per latent along each side: 2 to the VAE's downsamplings (diffusers' vae_scale_factor).
int vae_scale_factor(const ModelFiles& files);
// Builds scheduler `name` ("": the model's own) from the model's scheduler config and sets `steps`
// timesteps: unknown names, configs the class cannot run and step counts out of range fail here.
void check_scheduler_request(const ModelFiles& files, const std::string& name, int steps);

// original_size / crops_coords_top_left are SDXL's: Error on another model, or for sizes that are not
// positive / crops that are negative.
void check_size_conditioning(const ModelFiles& files, const SizeConditioning& size);

// Inversion (invert, morph walks) runs without SDXL's added conditioning: Error on an SDXL model.
void check_invertible(const ModelFiles& files);

// Which sampling settings of a request the user gave: a model's own defaults never replace those.
struct SamplingGiven {
  bool scheduler = false, steps = false, guidance = false;
};
// The sampling settings of a request, to be completed from the model.
struct Sampling {
  std::string& scheduler;
  int& steps;
  double& guidance_scale;
  SamplingGiven given;
};
// When the model's scheduler config makes it a few-step model (LCM, SD-Turbo-like: few_step_defaults),
// sets what the user did not give to its defaults and returns the line that says so; "" otherwise.
std::string follow_few_step_model(const ModelFiles& files, Sampling sampling);

// How a request's memory is bounded: by max_bytes when > 0, else by the memory available now.
struct MemoryLimit {
  double max_bytes = 0;
  std::string max_name = "max_memory";  // how the caller names the limit (the CLI: "--max-memory")
};
// Throws Error saying how much `images` pictures per UNet batch at height x width would take (CFG
// when guidance > 1) when that exceeds the limit.
void check_request_memory(const ModelFiles& files, Precision precision, WeightStorage weights, VaeTiling tiling,
                          int images, int height, int width, bool cfg, const MemoryLimit& limit,
                          const std::string& what);

}  // namespace sdwalk
