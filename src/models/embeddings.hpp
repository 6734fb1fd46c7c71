#pragma once
// diffusers Timesteps (sinusoidal projection) and TimestepEmbedding (linear_1 -> SiLU -> linear_2, with
// LCM's optional condition projection added to its input).
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
  // cond_proj_dim > 0: reads <prefix>.cond_proj, a bias-free Linear [in, cond_proj_dim] (time_cond_proj_dim).
  TimestepEmbedding(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t time_embed_dim,
                    int64_t cond_proj_dim = 0);
  // [N, in] -> [N, time_embed_dim]; `condition` [N, cond_proj_dim] (or null): sample + cond_proj(condition) first.
  Tensor forward(const Tensor& sample, const Tensor* condition = nullptr) const;
  int64_t cond_proj_dim() const { return cond_proj_.defined() ? cond_proj_.in_features() : 0; }

 private:
  ops::Linear linear_1_, linear_2_, cond_proj_;
};

}  // namespace sdwalk::models
