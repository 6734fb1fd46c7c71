// Activations and adds: simple loops the compiler vectorises, parallel over OpenMP threads.
#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

namespace {

void require_f32(const Tensor& x, const char* op) {
  check(x.defined() && x.dtype() == DType::F32, std::string(op) + ": input must be a defined f32 tensor");
}

template <class F> Tensor map(const Tensor& x, const char* op, F f) {
  require_f32(x, op);
  Tensor y(x.shape());
  const float* a = x.f32();
  float* o = y.f32();
  const int64_t n = x.numel();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i]);
  return y;
}

inline float gelu1(float v) { return 0.5f * v * (1.0f + std::erf(v * float(M_SQRT1_2))); }

}  // namespace

Tensor silu(const Tensor& x) {
  return map(x, "silu", [](float v) { return v / (1.0f + std::exp(-v)); });
}

Tensor gelu(const Tensor& x) { return map(x, "gelu", gelu1); }

Tensor quick_gelu(const Tensor& x) {
  return map(x, "quick_gelu", [](float v) { return v / (1.0f + std::exp(-1.702f * v)); });
}

Tensor geglu(const Tensor& x) {
  require_f32(x, "geglu");
  const int64_t two_f = x.dim(-1);
  check(two_f % 2 == 0, "geglu: last dimension " + std::to_string(two_f) + " is odd");
  const int64_t F = two_f / 2, rows = x.numel() / two_f;
  Shape shape = x.shape();
  shape.back() = F;
  Tensor y(shape);
  const float* a = x.f32();
  float* o = y.f32();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* h = a + r * two_f;
    float* out = o + r * F;
    for (int64_t i = 0; i < F; ++i) out[i] = h[i] * gelu1(h[F + i]);
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = a.clone();
  add_inplace(y, b);
  return y;
}

void add_inplace(Tensor& a, const Tensor& b) {
  require_f32(a, "add");
  require_f32(b, "add");
  check(a.shape() == b.shape(), "add: shapes " + shape_string(a.shape()) + " and " + shape_string(b.shape()) + " differ");
  float* o = a.f32();
  const float* p = b.f32();
  const int64_t n = a.numel();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t i = 0; i < n; ++i) o[i] += p[i];
}

void add_channel_bias_inplace(Tensor& x, const Tensor& v) {
  require_f32(x, "add_channel_bias");
  require_f32(v, "add_channel_bias");
  const int64_t N = x.dim(0), C = x.dim(-1);
  check(v.numel() == N * C, "add_channel_bias: bias has shape " + shape_string(v.shape()) + ", expected [" +
                                std::to_string(N) + ", " + std::to_string(C) + "]");
  const int64_t positions = x.numel() / (N * C);
  float* o = x.f32();
  const float* b = v.f32();
#pragma omp parallel for num_threads(threads()) schedule(static) collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < positions; ++p) {
      float* row = o + (n * positions + p) * C;
      const float* bn = b + n * C;
      for (int64_t c = 0; c < C; ++c) row[c] += bn[c];
    }
}

}  // namespace sdwalk::ops
