#include "models/embeddings.hpp"

namespace sdwalk::models {

Tensor Timesteps::forward(double timestep) const {
  return ops::timestep_embedding({float(timestep)}, num_channels, flip_sin_to_cos, downscale_freq_shift);
}

TimestepEmbedding::TimestepEmbedding(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                     int64_t time_embed_dim) {
  // One row per step: f32 costs nothing here and keeps every resnet's time bias exact.
  linear_1_ = p.linear(prefix + ".linear_1", in_channels, time_embed_dim, true, Precision::F32);
  linear_2_ = p.linear(prefix + ".linear_2", time_embed_dim, time_embed_dim, true, Precision::F32);
}

Tensor TimestepEmbedding::forward(const Tensor& sample) const {
  return linear_2_.forward(ops::silu(linear_1_.forward(sample)));
}

}  // namespace sdwalk::models
