#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {

Image image_from_float(const Tensor& nhwc) {
  const Shape& s = nhwc.shape();
  const bool batched = s.size() == 4 && s[0] == 1;
  check((batched || s.size() == 3) && s.back() == 3,
        "image: expected a float tensor [1, H, W, 3] or [H, W, 3], got " + shape_string(s));
  const DType dt = nhwc.dtype();
  check(dt == DType::F32 || dt == DType::F16 || dt == DType::BF16 || dt == DType::F64,
        "image: expected a floating-point tensor in [0, 1], got " + dtype_name(dt));
  const Tensor f = dt == DType::F32 ? nhwc : nhwc.to_f32();
  Image image;
  image.height = int(s[s.size() - 3]);
  image.width = int(s[s.size() - 2]);
  image.rgb.resize(size_t(f.numel()));
  const float* x = f.f32();
  for (size_t i = 0; i < image.rgb.size(); ++i) {
    float v = x[i];
    v = std::isnan(v) ? 0.0f : v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    // float32 product, then rint (round half to even in the default rounding mode), as numpy.
    image.rgb[i] = uint8_t(std::rint(v * 255.0f));
  }
  return image;
}

}  // namespace sdwalk
