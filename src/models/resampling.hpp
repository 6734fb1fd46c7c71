#pragma once
// diffusers Downsample2D / Upsample2D with use_conv=True (the only kind SD uses).
#include <string>

#include "models/param_reader.hpp"

namespace sdwalk::models {

// 3x3 conv with stride 2. padding 1 (the UNet's downsample_padding) pads all sides; padding 0
// (the VAE encoder) pads one zero row/column at the bottom/right first, as diffusers does.
class Downsample2D {
 public:
  Downsample2D() = default;
  Downsample2D(ParamReader& p, const std::string& prefix, int64_t channels, int padding);
  Tensor forward(const Tensor& x) const;  // [N, H, W, C] -> [N, ceil-ish(H/2), .., C]

 private:
  ops::Conv2d conv_;
  bool pad_bottom_right_ = false;
};

// Nearest-neighbour 2x, then a 3x3 conv. In bf16 precision the 4x larger upsampled tensor is written
// in bf16 straight away (what the conv reads), not f32 and then converted.
class Upsample2D {
 public:
  Upsample2D() = default;
  Upsample2D(ParamReader& p, const std::string& prefix, int64_t channels);
  // [N, H, W, C] -> [N, 2H, 2W, C]; x is let go before the convolution (pass it with std::move).
  Tensor forward(Tensor x) const;

 private:
  ops::Conv2d conv_;
  DType act_ = DType::F32;
};

}  // namespace sdwalk::models
