#include "models/unet_2d_blocks.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk::models {

namespace {

Transformer2DModel make_transformer(ParamReader& p, const std::string& prefix, int64_t channels,
                                    const UNetBlockOptions& o) {
  Transformer2DOptions t = *o.attention;
  t.dim_head = channels / t.heads;  // diffusers: out_channels // num_attention_heads
  check(t.dim_head > 0, p.network() + ": " + prefix + ": " + std::to_string(t.heads) + " attention heads for " +
                            std::to_string(channels) + " channels");
  t.norm_num_groups = o.resnet_groups;
  return Transformer2DModel(p, prefix, channels, t);
}

ResnetBlock2D make_resnet(ParamReader& p, const std::string& prefix, int64_t in, int64_t out,
                          const UNetBlockOptions& o) {
  return ResnetBlock2D(p, prefix, in, out, o.temb_channels, o.resnet_groups, o.resnet_eps, o.output_scale_factor);
}

}  // namespace

CrossAttnDownBlock2D::CrossAttnDownBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                           int64_t out_channels, bool add_downsample, int downsample_padding,
                                           const UNetBlockOptions& o) {
  for (int i = 0; i < o.num_layers; ++i) {
    const std::string idx = std::to_string(i);
    resnets_.push_back(make_resnet(p, prefix + ".resnets." + idx, i == 0 ? in_channels : out_channels, out_channels, o));
    if (o.attention) attentions_.push_back(make_transformer(p, prefix + ".attentions." + idx, out_channels, o));
  }
  if (add_downsample) downsampler_.emplace(p, prefix + ".downsamplers.0", out_channels, downsample_padding);
}

Tensor CrossAttnDownBlock2D::forward(const Tensor& x, const Tensor& temb_act, const Tensor& context,
                                     std::vector<Tensor>& skips) const {
  Tensor h = x;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    h = resnets_[i].forward(h, &temb_act);
    if (!attentions_.empty()) h = attentions_[i].forward(h, context);
    skips.push_back(h);
  }
  if (downsampler_) {
    h = downsampler_->forward(h);
    skips.push_back(h);
  }
  return h;
}

UNetMidBlock2DCrossAttn::UNetMidBlock2DCrossAttn(ParamReader& p, const std::string& prefix, int64_t channels,
                                                 const UNetBlockOptions& o) {
  resnets_.push_back(make_resnet(p, prefix + ".resnets.0", channels, channels, o));
  for (int i = 0; i < o.num_layers; ++i) {
    attentions_.push_back(make_transformer(p, prefix + ".attentions." + std::to_string(i), channels, o));
    resnets_.push_back(make_resnet(p, prefix + ".resnets." + std::to_string(i + 1), channels, channels, o));
  }
}

Tensor UNetMidBlock2DCrossAttn::forward(const Tensor& x, const Tensor& temb_act, const Tensor& context) const {
  Tensor h = resnets_[0].forward(x, &temb_act);
  for (size_t i = 0; i < attentions_.size(); ++i) {
    h = attentions_[i].forward(h, context);
    h = resnets_[i + 1].forward(h, &temb_act);
  }
  return h;
}

CrossAttnUpBlock2D::CrossAttnUpBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                       int64_t out_channels, int64_t prev_output_channel, bool add_upsample,
                                       const UNetBlockOptions& o) {
  for (int i = 0; i < o.num_layers; ++i) {
    const std::string idx = std::to_string(i);
    const int64_t skip_channels = i == o.num_layers - 1 ? in_channels : out_channels;
    const int64_t resnet_in = i == 0 ? prev_output_channel : out_channels;
    resnets_.push_back(make_resnet(p, prefix + ".resnets." + idx, resnet_in + skip_channels, out_channels, o));
    if (o.attention) attentions_.push_back(make_transformer(p, prefix + ".attentions." + idx, out_channels, o));
  }
  if (add_upsample) upsampler_.emplace(p, prefix + ".upsamplers.0", out_channels);
}

Tensor CrossAttnUpBlock2D::forward(const Tensor& x, const Tensor& temb_act, const Tensor& context,
                                   std::vector<Tensor>& skips) const {
  Tensor h = x;
  for (size_t i = 0; i < resnets_.size(); ++i) {
    check(!skips.empty(), "CrossAttnUpBlock2D: skip connections exhausted");
    Tensor skip = std::move(skips.back());
    skips.pop_back();
    h = resnets_[i].forward(ops::concat_channels(h, skip), &temb_act);
    if (!attentions_.empty()) h = attentions_[i].forward(h, context);
  }
  if (upsampler_) h = upsampler_->forward(std::move(h));
  return h;
}

}  // namespace sdwalk::models
