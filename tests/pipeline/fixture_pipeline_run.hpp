#pragma once
// One expected pipeline file (expected/sd21/pipeline_*, expected/lcm/pipeline_*) replayed on a loaded
// pipeline with a given scheduler: prompt embeddings, the CFG decision, the initial noise, every
// step's latents, the final latents and the image, each against the fixtures README's tolerance.
#include <string>

#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

// Worst error/tolerance ratios seen (<= 1 passes), for the test's report line.
struct PipelineRunReport {
  double embeds = 0, steps = 0, latents = 0, image = 0;
  std::string str() const;
};

// `final_name`: latents_final (StableDiffusionPipeline) or denoised_final (LCM pipeline).
PipelineRunReport replay_pipeline_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref,
                                       Scheduler& scheduler, const std::string& final_name);

}  // namespace sdwalk::test
