#include "pipeline/sdxl_conditioning.hpp"

#include <algorithm>

#include "sdwalk/error.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

Tensor concat_last(const Tensor& a, const Tensor& b) {
  check(a.ndim() >= 1 && a.ndim() == b.ndim(), "concat_last: ranks of " + shape_string(a.shape()) + " and " +
                                                   shape_string(b.shape()) + " differ");
  Shape out_shape = a.shape();
  for (int i = 0; i + 1 < a.ndim(); ++i)
    check(a.dim(i) == b.dim(i), "concat_last: leading shapes of " + shape_string(a.shape()) + " and " +
                                    shape_string(b.shape()) + " differ");
  const int64_t ca = a.dim(-1), cb = b.dim(-1), rows = a.numel() / std::max<int64_t>(ca, 1);
  out_shape.back() = ca + cb;
  const Tensor fa = a.to_f32(), fb = b.to_f32();
  Tensor out = Tensor::uninitialized(out_shape);
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(fa.f32() + r * ca, fa.f32() + (r + 1) * ca, out.f32() + r * (ca + cb));
    std::copy(fb.f32() + r * cb, fb.f32() + (r + 1) * cb, out.f32() + r * (ca + cb) + ca);
  }
  return out;
}

Tensor add_time_ids(const SizeConditioning& s, int height, int width) {
  const auto or_image = [](double v, int image) { return v > 0 ? v : double(image); };
  return Tensor::from_vector({1, 6}, {float(or_image(s.original_size[0], height)),
                                      float(or_image(s.original_size[1], width)), float(s.crops_coords_top_left[0]),
                                      float(s.crops_coords_top_left[1]), float(or_image(s.target_size[0], height)),
                                      float(or_image(s.target_size[1], width))});
}

}  // namespace sdwalk
