#include "models/vae.hpp"

#include <cmath>

namespace sdwalk::models {

namespace {
constexpr float kEps = 1e-6f;  // every norm of diffusers' Encoder/Decoder
}

UNetMidBlock2D::UNetMidBlock2D(ParamReader& p, const std::string& prefix, int64_t channels, int groups,
                               bool add_attention) {
  resnets_.emplace_back(p, prefix + ".resnets.0", channels, channels, 0, groups, kEps, 1.0f);
  if (add_attention) {
    attn_norm_ = p.group_norm(prefix + ".attentions.0.group_norm", channels, groups, kEps);
    attention_.emplace(p, prefix + ".attentions.0", channels, channels, /*heads=*/1, channels, /*qkv_bias=*/true);
  }
  resnets_.emplace_back(p, prefix + ".resnets.1", channels, channels, 0, groups, kEps, 1.0f);
}

Tensor UNetMidBlock2D::forward(Tensor x) const {
  Tensor h = resnets_[0].forward(std::move(x), nullptr);
  if (attention_) {
    const int64_t N = h.dim(0), H = h.dim(1), W = h.dim(2), C = h.dim(3);
    const Tensor tokens = h.reshape({N, H * W, C});
    // residual_connection=True, rescale_output_factor 1
    h = attention_->forward(attn_norm_.forward(tokens), nullptr, &tokens).reshape({N, H, W, C});
  }
  return resnets_[1].forward(std::move(h), nullptr);
}

DownEncoderBlock2D::DownEncoderBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                       int64_t out_channels, int num_layers, int groups, bool add_downsample) {
  for (int i = 0; i < num_layers; ++i)
    resnets_.emplace_back(p, prefix + ".resnets." + std::to_string(i), i == 0 ? in_channels : out_channels,
                          out_channels, 0, groups, kEps, 1.0f);
  if (add_downsample) downsampler_.emplace(p, prefix + ".downsamplers.0", out_channels, /*padding=*/0);
}

Tensor DownEncoderBlock2D::forward(const Tensor& x) const {
  Tensor h = x;
  for (const auto& r : resnets_) h = r.forward(h, nullptr);
  return downsampler_ ? downsampler_->forward(h) : h;
}

UpDecoderBlock2D::UpDecoderBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                   int64_t out_channels, int num_layers, int groups, bool add_upsample) {
  for (int i = 0; i < num_layers; ++i)
    resnets_.emplace_back(p, prefix + ".resnets." + std::to_string(i), i == 0 ? in_channels : out_channels,
                          out_channels, 0, groups, kEps, 1.0f);
  if (add_upsample) upsampler_.emplace(p, prefix + ".upsamplers.0", out_channels);
}

Tensor UpDecoderBlock2D::forward(Tensor x) const {
  for (const auto& r : resnets_) x = r.forward(std::move(x), nullptr);
  return upsampler_ ? upsampler_->forward(std::move(x)) : x;
}

Encoder::Encoder(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t latent_channels,
                 const VaeOptions& o) {
  const auto& ch = o.block_out_channels;
  conv_in_ = p.conv(prefix + ".conv_in", in_channels, ch[0], 3, 1, 1);
  int64_t out_ch = ch[0];
  for (size_t i = 0; i < ch.size(); ++i) {
    const int64_t in_ch = out_ch;
    out_ch = ch[i];
    down_blocks_.emplace_back(p, prefix + ".down_blocks." + std::to_string(i), in_ch, out_ch, o.layers_per_block,
                              o.norm_num_groups, i + 1 != ch.size());
  }
  mid_block_.emplace(p, prefix + ".mid_block", ch.back(), o.norm_num_groups, o.mid_block_add_attention);
  conv_norm_out_ = p.group_norm(prefix + ".conv_norm_out", ch.back(), o.norm_num_groups, kEps);
  conv_out_ = p.conv(prefix + ".conv_out", ch.back(), 2 * latent_channels, 3, 1, 1);  // double_z
}

Tensor Encoder::forward(const Tensor& x) const {
  Tensor h = conv_in_.forward(x);
  for (const auto& b : down_blocks_) h = b.forward(h);
  h = mid_block_->forward(std::move(h));
  return conv_out_.forward(conv_norm_out_.forward(h, /*silu=*/true));
}

Decoder::Decoder(ParamReader& p, const std::string& prefix, int64_t latent_channels, int64_t out_channels,
                 const VaeOptions& o) {
  const auto& ch = o.block_out_channels;
  conv_in_ = p.conv(prefix + ".conv_in", latent_channels, ch.back(), 3, 1, 1, Precision::F32);  // 4 input channels
  mid_block_.emplace(p, prefix + ".mid_block", ch.back(), o.norm_num_groups, o.mid_block_add_attention);
  int64_t out_ch = ch.back();
  for (size_t i = 0; i < ch.size(); ++i) {
    const int64_t prev = out_ch;
    out_ch = ch[ch.size() - 1 - i];
    up_blocks_.emplace_back(p, prefix + ".up_blocks." + std::to_string(i), prev, out_ch, o.layers_per_block + 1,
                            o.norm_num_groups, i + 1 != ch.size());
  }
  conv_norm_out_ = p.group_norm(prefix + ".conv_norm_out", ch[0], o.norm_num_groups, kEps);
  conv_out_ = p.conv(prefix + ".conv_out", ch[0], out_channels, 3, 1, 1);
  // Receptive field of the tail in latent pixels: each 3x3 convolution reaches one pixel of its own
  // resolution, which halves after every upsampler (two convolutions per resnet, one per upsampler,
  // conv_out at the end).
  double reach = 0, pixel = 1;
  for (size_t i = 0; i < ch.size(); ++i) {
    reach += 2.0 * (o.layers_per_block + 1) * pixel;
    if (i + 1 != ch.size()) {
      pixel /= 2;
      reach += pixel;
    }
  }
  reach += pixel;
  tail_reach_ = int64_t(std::ceil(reach));
}

Tensor Decoder::forward_head(const Tensor& z) const { return mid_block_->forward(conv_in_.forward(z)); }

Tensor Decoder::forward_tail(Tensor h, const std::function<void()>& after_up_block) const {
  for (const auto& b : up_blocks_) {
    h = b.forward(std::move(h));
    if (after_up_block) after_up_block();
  }
  return conv_out_.forward(conv_norm_out_.forward(h, /*silu=*/true));
}

Tensor Decoder::forward(const Tensor& z, const std::function<void()>& after_up_block) const {
  return forward_tail(forward_head(z), after_up_block);
}

}  // namespace sdwalk::models
