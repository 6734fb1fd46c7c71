#pragma once
#include <functional>
// AutoencoderKL's Encoder and Decoder (diffusers autoencoders/vae.py) and their blocks.
// The VAE's norms use eps 1e-6 and its resnets take no time embedding.
#include <optional>
#include <string>
#include <vector>

#include "models/attention.hpp"
#include "models/resampling.hpp"
#include "models/resnet_block_2d.hpp"

namespace sdwalk::models {

struct VaeOptions {
  std::vector<int> block_out_channels;
  int layers_per_block = 1;
  int norm_num_groups = 32;
  bool mid_block_add_attention = true;
};

// UNetMidBlock2D without time embedding: resnet, then (attention, resnet). The attention is one
// head as wide as the channels (attention_head_dim = channels): GroupNorm, q/k/v with biases over
// the H*W tokens, to_out, plus the input.
class UNetMidBlock2D {
 public:
  UNetMidBlock2D(ParamReader& p, const std::string& prefix, int64_t channels, int groups, bool add_attention);
  Tensor forward(Tensor x) const;  // [N, H, W, C]

 private:
  std::vector<ResnetBlock2D> resnets_;
  GroupNorm attn_norm_;
  std::optional<Attention> attention_;
};

// DownEncoderBlock2D (resnets, then an optional Downsample2D with padding 0) and
// UpDecoderBlock2D (resnets, then an optional Upsample2D).
class DownEncoderBlock2D {
 public:
  DownEncoderBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                     int num_layers, int groups, bool add_downsample);
  Tensor forward(const Tensor& x) const;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::optional<Downsample2D> downsampler_;
};

class UpDecoderBlock2D {
 public:
  UpDecoderBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                   int num_layers, int groups, bool add_upsample);
  Tensor forward(Tensor x) const;  // by value: moved through the resnets, freed as soon as possible

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::optional<Upsample2D> upsampler_;
};

// conv_in -> down blocks -> mid block -> GroupNorm -> SiLU -> conv_out (2 x latent_channels: mean, logvar).
class Encoder {
 public:
  Encoder(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t latent_channels, const VaeOptions& o);
  Tensor forward(const Tensor& x) const;  // [N, H, W, in] -> [N, H/f, W/f, 2 * latent]

 private:
  ops::Conv2d conv_in_, conv_out_;
  std::vector<DownEncoderBlock2D> down_blocks_;
  std::optional<UNetMidBlock2D> mid_block_;
  GroupNorm conv_norm_out_;
};

// conv_in -> mid block -> up blocks -> GroupNorm -> SiLU -> conv_out.
class Decoder {
 public:
  Decoder(ParamReader& p, const std::string& prefix, int64_t latent_channels, int64_t out_channels, const VaeOptions& o);
  // [N, h, w, latent] -> [N, h*f, w*f, out]; `after_up_block` (may be empty) runs after each up block.
  Tensor forward(const Tensor& z, const std::function<void()>& after_up_block = nullptr) const;
  // forward() in two parts, for tiled decoding: the head (conv_in, mid block with its attention over
  // all latent pixels) at latent resolution, then the tail (up blocks, norm, conv_out), which is
  // local: an output pixel depends on the head's output only within tail_reach() latent pixels.
  Tensor forward_head(const Tensor& z) const;  // [N, h, w, latent] -> [N, h, w, C]
  Tensor forward_tail(Tensor h, const std::function<void()>& after_up_block = nullptr) const;  // -> [N, h*f, w*f, out]
  int64_t tail_reach() const { return tail_reach_; }

 private:
  ops::Conv2d conv_in_, conv_out_;
  std::optional<UNetMidBlock2D> mid_block_;
  int64_t tail_reach_ = 0;
  std::vector<UpDecoderBlock2D> up_blocks_;
  GroupNorm conv_norm_out_;
};

}  // namespace sdwalk::models
