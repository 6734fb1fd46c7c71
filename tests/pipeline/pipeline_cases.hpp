#pragma once
// The pipeline fixture files (expected/pipeline_*.safetensors) as gtest parameters, shared by the
// pipeline tests that run every case.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

// File names of the cases; one placeholder (reported as skipped) when there are none.
std::vector<std::string> pipeline_cases();
// A gtest-safe name: the file name without its extension, other characters as '_'.
std::string pipeline_case_name(const ::testing::TestParamInfo<std::string>& info);

// One case run as its file says (prompts, scheduler config, steps, guidance, latents_in or the
// generator seed), on `pipe`: what StableDiffusionPipeline.__call__ did to make it.
struct PipelineCaseRun {
  EncodedPrompt cond, uncond;
  std::vector<Tensor> step_latents;  // after each step
  Tensor final_latents, image;
};
PipelineCaseRun run_pipeline_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref);

}  // namespace sdwalk::test
