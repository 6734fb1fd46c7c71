// diffusers' get_timestep_embedding, step for step in float32 as torch computes it.
#include <cmath>

#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

Tensor timestep_embedding(const std::vector<float>& timesteps, int dim, bool flip_sin_to_cos, float downscale_freq_shift,
                          float scale, float max_period) {
  check(dim >= 2, "timestep_embedding: dim must be at least 2");
  const int half = dim / 2;
  // exponent = -ln(max_period) * arange(half) / (half - shift); torch rounds each step to float32.
  const float neg_log = float(-std::log(double(max_period)));
  const float denom = float(half) - downscale_freq_shift;
  std::vector<float> freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i) freq[size_t(i)] = std::exp((float(i) * neg_log) / denom);
  const int64_t n = int64_t(timesteps.size());
  Tensor y({n, dim});
  float* o = y.f32();
  for (int64_t r = 0; r < n; ++r) {
    float* row = o + r * dim;
    for (int i = 0; i < half; ++i) {
      const float arg = scale * (timesteps[size_t(r)] * freq[size_t(i)]);
      const float s = std::sin(arg), c = std::cos(arg);
      row[flip_sin_to_cos ? half + i : i] = s;
      row[flip_sin_to_cos ? i : half + i] = c;
    }
    // odd dim: torch pads one zero column at the end (already zero).
  }
  return y;
}

}  // namespace sdwalk::ops
