// add_time_ids (stable_diffusion_pipeline.hpp): StableDiffusionXLPipeline's _get_add_time_ids.
#include "sdwalk/error.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

Tensor add_time_ids(const SizeConditioning& s, int height, int width) {
  const auto or_image = [](double v, int image) { return v > 0 ? v : double(image); };
  return Tensor::from_vector({1, 6}, {float(or_image(s.original_size[0], height)),
                                      float(or_image(s.original_size[1], width)), float(s.crops_coords_top_left[0]),
                                      float(s.crops_coords_top_left[1]), float(or_image(s.target_size[0], height)),
                                      float(or_image(s.target_size[1], width))});
}

}  // namespace sdwalk
