#pragma once
// One expected/sdxl-style pipeline file (StableDiffusionXLPipeline, Euler) replayed on a loaded SDXL
// pipeline: the conditioning as diffusers builds it (prompt, negative or force_zeros' zeros,
// add_time_ids from the sizes in the metadata), the initial noise (latents_in, or the metadata's
// generator seed), the Euler loop with every step's latents. Used by tests/pipeline/sdxl_pipeline_test,
// the SDXL single-file test (tests/bench) and the SDXL LoRA test (tests/lora).
#include <vector>

#include "sdwalk/safetensors.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk::test {

struct SdxlRun {
  EncodedPrompt cond, uncond;
  Tensor time_ids, latents, latents_final;
  std::vector<Tensor> steps;
  std::vector<double> timesteps;
};

SdxlRun run_sdxl_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref);

}  // namespace sdwalk::test
