#pragma once
// SDXL's size conditioning as flags: --original-size H,W and --crops-coords-top-left T,L (diffusers'
// original_size and crops_coords_top_left). The model check (SDXL only) runs before the load, with the
// request's (check_size_conditioning, request_checks.hpp).
#include <CLI/CLI.hpp>
#include <string>

#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk::cli {

struct SizeConditioningFlags {
  std::string original_size, crops_coords_top_left;  // as given ("": the default)
};

void add_size_conditioning_flags(CLI::App* cmd, SizeConditioningFlags& flags);
// The flags parsed: Error naming the flag unless each is two integers ("H,W": positive; "T,L": >= 0).
SizeConditioning parse_size_conditioning(const SizeConditioningFlags& flags);

}  // namespace sdwalk::cli
