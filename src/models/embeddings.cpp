#include "models/embeddings.hpp"

#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk::models {

Tensor Timesteps::forward(double timestep) const {
  return ops::timestep_embedding({float(timestep)}, num_channels, flip_sin_to_cos, downscale_freq_shift);
}

TimestepEmbedding::TimestepEmbedding(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                     int64_t time_embed_dim, int64_t cond_proj_dim) {
  // One row per step: f32 costs nothing here and keeps every resnet's time bias exact.
  if (cond_proj_dim > 0) cond_proj_ = p.linear(prefix + ".cond_proj", cond_proj_dim, in_channels, false, Precision::F32);
  linear_1_ = p.linear(prefix + ".linear_1", in_channels, time_embed_dim, true, Precision::F32);
  linear_2_ = p.linear(prefix + ".linear_2", time_embed_dim, time_embed_dim, true, Precision::F32);
}

Tensor TimestepEmbedding::forward(const Tensor& sample, const Tensor* condition) const {
  if (condition == nullptr) return linear_2_.forward(ops::silu(linear_1_.forward(sample)));
  check(cond_proj_.defined(), "unet: a timestep condition was given, but the UNet has no time_cond_proj_dim");
  check(condition->ndim() == 2 && condition->dim(0) == sample.dim(0) && condition->dim(1) == cond_proj_dim(),
        "unet: timestep_cond has shape " + shape_string(condition->shape()) + ", expected [" +
            std::to_string(sample.dim(0)) + ", " + std::to_string(cond_proj_dim()) + "]");
  const Tensor conditioned = cond_proj_.forward(condition->to_f32(), &sample);  // sample + cond_proj(condition)
  return linear_2_.forward(ops::silu(linear_1_.forward(conditioned)));
}

}  // namespace sdwalk::models

namespace sdwalk {

Tensor guidance_scale_embedding(double w, int64_t dim) {
  check(dim >= 4, "guidance_scale_embedding: dim must be at least 4, got " + std::to_string(dim));
  const int64_t half = dim / 2;
  // Every operation in float32, in torch's order.
  const float w_scaled = float(w) * 1000.0f;
  const float step = std::log(10000.0f) / float(half - 1);
  Tensor out({1, dim});
  float* p = out.f32();
  for (int64_t j = 0; j < half; ++j) {
    const float x = w_scaled * std::exp(float(j) * -step);
    p[j] = std::sin(x);
    p[half + j] = std::cos(x);
  }
  if (dim % 2 == 1) p[dim - 1] = 0.0f;  // torch pads an odd width with one zero
  return out;
}

}  // namespace sdwalk
