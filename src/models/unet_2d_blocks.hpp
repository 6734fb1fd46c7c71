#pragma once
// The UNet's down, mid and up blocks (diffusers unet_2d_blocks.py). One class covers a block with
// and without cross-attention: CrossAttnDownBlock2D / DownBlock2D, CrossAttnUpBlock2D / UpBlock2D.
#include <optional>
#include <string>
#include <vector>

#include "models/resampling.hpp"
#include "models/resnet_block_2d.hpp"
#include "models/transformer_2d_model.hpp"

namespace sdwalk::models {

struct UNetBlockOptions {
  int num_layers = 2;  // resnets (an up block gets layers_per_block + 1)
  int64_t temb_channels = 0;
  int resnet_groups = 32;
  float resnet_eps = 1e-5f;
  float output_scale_factor = 1.0f;
  // Cross-attention: set for CrossAttn* blocks (heads, layers, cross_attention_dim, ...);
  // dim_head is derived from the block's width, as diffusers does.
  std::optional<Transformer2DOptions> attention;
};

// Each (resnet, attention) pair and the downsampler push their output to the skip list.
class CrossAttnDownBlock2D {
 public:
  CrossAttnDownBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                       bool add_downsample, int downsample_padding, const UNetBlockOptions& o);
  Tensor forward(const Tensor& x, const Tensor& temb_act, const Tensor& context, std::vector<Tensor>& skips) const;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;  // empty for DownBlock2D
  std::optional<Downsample2D> downsampler_;
};

// resnets[0], then (attention, resnet) pairs.
class UNetMidBlock2DCrossAttn {
 public:
  UNetMidBlock2DCrossAttn(ParamReader& p, const std::string& prefix, int64_t channels, const UNetBlockOptions& o);
  Tensor forward(const Tensor& x, const Tensor& temb_act, const Tensor& context) const;

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;
};

// Each resnet first concatenates the last skip: cat([hidden, skip], channels).
class CrossAttnUpBlock2D {
 public:
  // in_channels: the width of the skip of the last resnet (the matching down block's input);
  // prev_output_channel: the width coming from below.
  CrossAttnUpBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                     int64_t prev_output_channel, bool add_upsample, const UNetBlockOptions& o);
  Tensor forward(const Tensor& x, const Tensor& temb_act, const Tensor& context, std::vector<Tensor>& skips) const;
  size_t num_skips() const { return resnets_.size(); }

 private:
  std::vector<ResnetBlock2D> resnets_;
  std::vector<Transformer2DModel> attentions_;  // empty for UpBlock2D
  std::optional<Upsample2D> upsampler_;
};

}  // namespace sdwalk::models
