#include "models/resampling.hpp"

#include "models/local_ops.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::models {

Downsample2D::Downsample2D(ParamReader& p, const std::string& prefix, int64_t channels, int padding)
    : pad_bottom_right_(padding == 0) {
  check(padding >= 0, p.network() + ": " + prefix + ": downsample padding " + std::to_string(padding) + " < 0");
  conv_ = p.conv(prefix + ".conv", channels, channels, 3, 2, padding);
}

Tensor Downsample2D::forward(const Tensor& x) const {
  return pad_bottom_right_ ? conv_.forward(pad_bottom_right(x)) : conv_.forward(x);
}

Upsample2D::Upsample2D(ParamReader& p, const std::string& prefix, int64_t channels) {
  conv_ = p.conv(prefix + ".conv", channels, channels, 3, 1, 1);
  act_ = p.activation_dtype();
}

Tensor Upsample2D::forward(Tensor x) const {
  const Tensor up = ops::upsample_nearest2x(x, act_);
  x = Tensor();  // a quarter of `up`: not needed beside it and the convolution's output
  return conv_.forward(up);
}

}  // namespace sdwalk::models
