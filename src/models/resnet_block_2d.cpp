#include "models/resnet_block_2d.hpp"

#include "models/local_ops.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::models {

ResnetBlock2D::ResnetBlock2D(ParamReader& p, const std::string& prefix, int64_t in_channels, int64_t out_channels,
                             int64_t temb_channels, int groups, float eps, float output_scale_factor)
    : out_channels_(out_channels), output_scale_factor_(output_scale_factor) {
  norm1_ = p.group_norm(prefix + ".norm1", in_channels, groups, eps);
  conv1_ = p.conv(prefix + ".conv1", in_channels, out_channels, 3, 1, 1);
  // One row per step (a matrix-vector product): f32 costs nothing and keeps the time bias exact.
  if (temb_channels > 0)
    time_emb_proj_ = p.linear(prefix + ".time_emb_proj", temb_channels, out_channels, true, Precision::F32);
  norm2_ = p.group_norm(prefix + ".norm2", out_channels, groups, eps);
  conv2_ = p.conv(prefix + ".conv2", out_channels, out_channels, 3, 1, 1);
  if (in_channels != out_channels) conv_shortcut_ = p.conv(prefix + ".conv_shortcut", in_channels, out_channels, 1, 1, 0);
}

Tensor ResnetBlock2D::forward(Tensor x, const Tensor* temb_act) const {
  Tensor h;
  // With a shortcut convolution the input is needed only by it and norm1: take both, then let x go.
  Tensor shortcut = conv_shortcut_.defined() ? conv_shortcut_.forward(x) : Tensor();
  Tensor n1 = shortcut.defined() ? norm1_.forward_consuming(std::move(x), /*silu=*/true) : norm1_.forward(x, true);
  if (time_emb_proj_.defined()) {
    check(temb_act != nullptr, "ResnetBlock2D: time embedding expected");
    const Tensor t = time_emb_proj_.forward(*temb_act);
    if (t.dim(0) == 1) {  // one embedding for the whole batch: folded into conv1's bias
      h = conv1_.forward(n1, nullptr, &t);
    } else {
      h = conv1_.forward(n1);
      ops::add_channel_bias_inplace(h, t);
    }
  } else {
    h = conv1_.forward(n1);
  }
  n1 = Tensor();
  h = norm2_.forward_consuming(std::move(h), /*silu=*/true);  // in place; dropout is the identity at inference
  Tensor out;
  if (shortcut.defined()) {  // ours alone: conv2 accumulates into it
    conv2_.accumulate(h, shortcut);
    out = std::move(shortcut);
  } else {
    out = conv2_.forward(h, &x);  // input + conv2(h), fused
  }
  if (output_scale_factor_ != 1.0f) scale_inplace(out, 1.0f / output_scale_factor_);
  return out;
}

}  // namespace sdwalk::models
