#pragma once
// The flags of `sdwalk generate` and what they need checked before the model loads.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/model_options.hpp"
#include "cli/size_conditioning_flags.hpp"
#include "sdwalk/engine.hpp"

namespace sdwalk::cli {

struct GenerateArgs {
  ModelOptions model;
  GenerateRequest request;
  std::string seed;  // "" = random; parsed by parse_seed (one rule for every seed)
  std::string output;
  bool overwrite = false;
  std::string image, fit, noise;  // img2img input, how to size it, a noise file instead of the seed's
  bool strength_given = false;
  SizeConditioningFlags size;  // SDXL's --original-size / --crops-coords-top-left
};

void add_generate_flags(CLI::App* cmd, GenerateArgs& args);

// Everything that needs no model, before the (slow) load: the picture read and sized (img2img), the
// demo model's defaults, sizes, steps, scheduler, the output name, the seed (drawn and printed when
// none is given).
void prepare_generate(GenerateArgs& args, bool size_given, SamplingGiven given);

}  // namespace sdwalk::cli
