#pragma once
// diffusers ResnetBlock2D (time_embedding_norm "default", no up/down sampling):
// GroupNorm -> SiLU -> conv1 (+ time_emb_proj(silu(temb)) per channel) -> GroupNorm -> SiLU -> conv2,
// plus the input (through a 1x1 conv_shortcut when the width changes), / output_scale_factor.
#include <string>

#include "models/param_reader.hpp"

namespace sdwalk::models {

class ResnetBlock2D {
 public:
  ResnetBlock2D() = default;
  // temb_channels 0: no time embedding (the VAE's blocks).
  ResnetBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                int64_t temb_channels, int groups, float eps, float output_scale_factor);
  // x: [N, H, W, Cin]; temb_act: silu(temb) [N, temb_channels] or [1, temb_channels] (the same for the
  // whole batch), or nullptr when temb_channels is 0.
  // x by value: a caller that moves its input in lets the block free it as soon as it is no longer
  // needed (once the shortcut convolution has read it), which lowers the VAE's peak memory.
  Tensor forward(Tensor x, const Tensor* temb_act) const;
  int64_t out_channels() const { return out_channels_; }

 private:
  int64_t out_channels_ = 0;
  GroupNorm norm1_, norm2_;
  ops::Conv2d conv1_, conv2_, conv_shortcut_;
  ops::Linear time_emb_proj_;
  float output_scale_factor_ = 1.0f;
};

}  // namespace sdwalk::models
