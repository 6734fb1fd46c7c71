#include "models/local_ops.hpp"

#include <algorithm>
#include <cstring>

#include "sdwalk/error.hpp"

namespace sdwalk::models {

Tensor pad_bottom_right(const Tensor& x) {
  check(x.ndim() == 4 && x.dtype() == DType::F32, "pad_bottom_right: expected f32 [N, H, W, C]");
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor y({N, H + 1, W + 1, C});  // zero-filled
  const float* src = x.f32();
  float* dst = y.f32();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(dst + ((n * (H + 1) + h) * (W + 1)) * C, src + ((n * H + h) * W) * C, size_t(W * C) * sizeof(float));
  return y;
}

void scale_inplace(Tensor& x, float s) {
  float* p = x.f32();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) p[i] *= s;
}

Tensor repeat_rows(const Tensor& row, int64_t n) {
  check(row.ndim() == 2 && row.dim(0) == 1 && row.dtype() == DType::F32, "repeat_rows: expected f32 [1, D]");
  const int64_t D = row.dim(1);
  Tensor y({n, D});
  for (int64_t i = 0; i < n; ++i) std::memcpy(y.f32() + i * D, row.f32(), size_t(D) * sizeof(float));
  return y;
}

Tensor channel_slice_nchw(const Tensor& x, int64_t begin, int64_t end) {
  check(x.ndim() == 4 && x.dtype() == DType::F32 && 0 <= begin && begin <= end && end <= x.dim(1),
        "channel_slice_nchw: bad arguments");
  const int64_t N = x.dim(0), C = x.dim(1), HW = x.dim(2) * x.dim(3);
  Tensor y({N, end - begin, x.dim(2), x.dim(3)});
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(y.f32() + n * (end - begin) * HW, x.f32() + (n * C + begin) * HW, size_t((end - begin) * HW) * sizeof(float));
  return y;
}

void clamp_inplace(Tensor& x, float lo, float hi) {
  float* p = x.f32();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) p[i] = std::clamp(p[i], lo, hi);
}

}  // namespace sdwalk::models
