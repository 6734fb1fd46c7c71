#pragma once
// The built-in demo model (models/demo: 64x64 pictures of coloured shapes, trained by
// tools/demo-model/), used when a command gets no --model.
#include <filesystem>
#include <optional>

#include "cli/model_options.hpp"

namespace sdwalk::cli {

// What suits the demo model: it was trained on 64x64 pictures (16x16 latents) and samples well with
// its DPM-Solver++ scheduler in 20 steps at a guidance scale of 2 (higher scales push its colours
// off: at 5 a red or green shape comes out brown or gray).
struct DemoModelDefaults {
  int size = 64;
  int steps = 20;
  double guidance_scale = 2.0;
};

// The demo model's folder: $SDWALK_DEMO_MODEL, else models/demo beside the executable's folder
// (build/sdwalk in a checkout), else the source tree sdwalk was built from; nullopt when none exists.
std::optional<std::filesystem::path> find_demo_model();

// When no --model (nor --tokenizer/--config) was given: points `options` at the demo model, prints a
// one-line notice and returns true. Throws Error naming the places looked in when it is missing.
bool use_demo_model_if_none(ModelOptions& options);

// A request's settings the demo model has its own defaults for; `*_given`: the flags set it, keep it.
struct DemoModelRequest {
  int& height;
  int& width;
  int& steps;
  double& guidance_scale;
  bool size_given;
  SamplingGiven given;
};
// use_demo_model_if_none, and when it is used the demo model's size, steps and guidance for what the
// flags did not give.
void use_demo_model_if_none(ModelOptions& options, DemoModelRequest request);

}  // namespace sdwalk::cli
