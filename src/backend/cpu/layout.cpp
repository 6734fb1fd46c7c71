// Data movement: nearest upsampling, channel concatenation, NCHW <-> NHWC.
#include <algorithm>
#include <cstring>

#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {
void require_4d(const Tensor& x, const char* op) {
  check(x.ndim() == 4 && x.dtype() == DType::F32,
        std::string(op) + ": input has shape " + shape_string(x.shape()) + ", expected a 4-D f32 tensor");
}
}  // namespace

Tensor upsample_nearest2x(const Tensor& x, DType out) {
  require_4d(x, "upsample_nearest2x");
  check(out == DType::F32 || out == DType::BF16, "upsample_nearest2x: output dtype must be F32 or BF16");
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  // Rows of the source in the output dtype (one conversion per source row), then copied 2 x 2.
  const Tensor src_t = out == DType::BF16 ? to_bf16(x) : x;
  Tensor y = Tensor::uninitialized({N, 2 * H, 2 * W, C}, out);
  const auto* a = static_cast<const std::byte*>(src_t.raw());
  auto* o = static_cast<std::byte*>(y.raw());
  const size_t bytes = size_t(C) * dtype_size(out);
#pragma omp parallel for num_threads(threads_for_bytes(1.25 * double(y.nbytes()))) schedule(static) collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < 2 * H; ++h) {
      const std::byte* src = a + size_t((n * H + h / 2) * W) * bytes;
      std::byte* dst = o + size_t((n * 2 * H + h) * 2 * W) * bytes;
      for (int64_t w = 0; w < 2 * W; ++w) std::memcpy(dst + size_t(w) * bytes, src + size_t(w / 2) * bytes, bytes);
    }
  return y;
}

Tensor concat_channels(const Tensor& a_in, const Tensor& b_in) {
  check(a_in.ndim() >= 1 && a_in.ndim() == b_in.ndim() &&
            std::equal(a_in.shape().begin(), a_in.shape().end() - 1, b_in.shape().begin()),
        "concat_channels: " + shape_string(a_in.shape()) + " and " + shape_string(b_in.shape()) +
            " differ in rank or in a dimension before the last");
  // to_f32 copies even an f32 tensor: convert only what is not f32 (the decoder's skips are).
  const Tensor a = a_in.dtype() == DType::F32 ? a_in : a_in.to_f32();
  const Tensor b = b_in.dtype() == DType::F32 ? b_in : b_in.to_f32();
  const int64_t Ca = a.dim(-1), Cb = b.dim(-1), P = Ca > 0 ? a.numel() / Ca : 0;
  Shape shape = a.shape();
  shape.back() = Ca + Cb;
  Tensor y = Tensor::uninitialized(shape);
  const float* pa = a.f32();
  const float* pb = b.f32();
  float* o = y.f32();
#pragma omp parallel for num_threads(threads_for_bytes(2.0 * double(y.nbytes()))) schedule(static)
  for (int64_t p = 0; p < P; ++p) {
    std::memcpy(o + p * (Ca + Cb), pa + p * Ca, size_t(Ca) * sizeof(float));
    std::memcpy(o + p * (Ca + Cb) + Ca, pb + p * Cb, size_t(Cb) * sizeof(float));
  }
  return y;
}

Tensor nchw_to_nhwc(const Tensor& x) {
  require_4d(x, "nchw_to_nhwc");
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor y = Tensor::uninitialized({N, H, W, C});
  const float* a = x.f32();
  float* o = y.f32();
#pragma omp parallel for num_threads(threads_for_bytes(2.0 * double(y.nbytes()))) schedule(static) collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t hw = 0; hw < H * W; ++hw)
      for (int64_t c = 0; c < C; ++c) o[(n * H * W + hw) * C + c] = a[(n * C + c) * H * W + hw];
  return y;
}

Tensor nhwc_to_nchw(const Tensor& x) {
  require_4d(x, "nhwc_to_nchw");
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor y = Tensor::uninitialized({N, C, H, W});
  const float* a = x.f32();
  float* o = y.f32();
#pragma omp parallel for num_threads(threads_for_bytes(2.0 * double(y.nbytes()))) schedule(static) collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t hw = 0; hw < H * W; ++hw) o[(n * C + c) * H * W + hw] = a[(n * H * W + hw) * C + c];
  return y;
}

}  // namespace sdwalk::ops
