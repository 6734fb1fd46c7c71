#pragma once
// SDXL's micro-conditioning, as StableDiffusionXLPipeline's original_size, crops_coords_top_left and
// target_size (height, width / top, left). Zero sizes mean the image's own (diffusers' defaults).
#include <array>

namespace sdwalk {

struct SizeConditioning {
  std::array<double, 2> original_size{0, 0}, crops_coords_top_left{0, 0}, target_size{0, 0};
  bool is_default() const {
    return original_size == std::array<double, 2>{0, 0} && crops_coords_top_left == std::array<double, 2>{0, 0} &&
           target_size == std::array<double, 2>{0, 0};
  }
};

}  // namespace sdwalk
