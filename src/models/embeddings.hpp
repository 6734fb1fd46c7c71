#pragma once
// diffusers Timesteps (sinusoidal projection) and TimestepEmbedding (linear_1 -> SiLU -> linear_2).
#include <string>

#include "models/param_reader.hpp"

namespace sdwalk::models {

struct Timesteps {
  int num_channels = 0;
  bool flip_sin_to_cos = true;
  float downscale_freq_shift = 0;
  // [1, num_channels]; the timestep goes through float32 as in diffusers.
  Tensor forward(double timestep) const;
};

class TimestepEmbedding {
 public:
  TimestepEmbedding() = default;
  TimestepEmbedding(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t time_embed_dim);
  Tensor forward(const Tensor& sample) const;  // [N, in] -> [N, time_embed_dim]

 private:
  ops::Linear linear_1_, linear_2_;
};

}  // namespace sdwalk::models
