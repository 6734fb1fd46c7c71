// Activations and adds: SIMD loops (vec_math.hpp) compiled per ISA path (isa_dispatch.hpp) and run
// in parallel chunks over the OpenMP threads.
#include <algorithm>

#include "backend/cpu/isa_dispatch.hpp"
#include "backend/cpu/vec_math.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {

using namespace detail;

// y[i] = EXPR(v) with v = x[i] (16 at a time, zero-padded tail).
#define SDWALK_UNARY_KERNEL(name, EXPR)                                       \
  SDWALK_INLINE void name##_body(const float* x, float* y, int64_t n) {       \
    int64_t i = 0;                                                            \
    for (; i + kLanes <= n; i += kLanes) {                                    \
      const vf16 v = vload(x + i);                                            \
      vstore(y + i, EXPR);                                                    \
    }                                                                         \
    if (i < n) {                                                              \
      const vf16 v = vload_partial(x + i, n - i);                             \
      vstore_partial(y + i, EXPR, n - i);                                     \
    }                                                                         \
  }                                                                           \
  SDWALK_PER_ISA(name, name##_body, (const float* x, float* y, int64_t n), (x, y, n))

SDWALK_UNARY_KERNEL(silu_kernel, vsilu(v))
SDWALK_UNARY_KERNEL(gelu_kernel, vgelu(v))
SDWALK_UNARY_KERNEL(quick_gelu_kernel, vquick_gelu(v))

// out[i] = a[i] * gelu(g[i]); out is float or bf16 bits.
template <class T> SDWALK_INLINE void geglu_impl(const float* a, const float* g, T* out, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore_as(out + i, vload(a + i) * vgelu(vload(g + i)));
  if (i < n) vstore_as_partial(out + i, vload_partial(a + i, n - i) * vgelu(vload_partial(g + i, n - i)), n - i);
}
SDWALK_PER_ISA(geglu_kernel, geglu_impl, (const float* a, const float* g, float* out, int64_t n), (a, g, out, n))
SDWALK_PER_ISA(geglu_kernel, geglu_impl, (const float* a, const float* g, uint16_t* out, int64_t n), (a, g, out, n))

SDWALK_INLINE void to_bf16_body(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore_bf16(y + i, vload(x + i));
  if (i < n) vstore_bf16_partial(y + i, vload_partial(x + i, n - i), n - i);
}
SDWALK_PER_ISA(to_bf16_kernel, to_bf16_body, (const float* x, uint16_t* y, int64_t n), (x, y, n))

void require_f32(const Tensor& x, const char* op) {
  check(x.defined() && x.dtype() == DType::F32, std::string(op) + ": input must be a defined f32 tensor");
}

// Runs kernel(begin, count) over [0, n) in chunks spread across the threads.
template <class F> void parallel_chunks(int64_t n, F kernel) {
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads_for_bytes(8.0 * double(n))) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) kernel(c * kChunk, std::min(kChunk, n - c * kChunk));
}

Tensor unary(const Tensor& x, const char* op, void (*kernel)(const float*, float*, int64_t)) {
  require_f32(x, op);
  Tensor y = Tensor::uninitialized(x.shape());
  const float* a = x.f32();
  float* o = y.f32();
  parallel_chunks(x.numel(), [&](int64_t begin, int64_t count) { kernel(a + begin, o + begin, count); });
  return y;
}

}  // namespace

Tensor silu(const Tensor& x) { return unary(x, "silu", silu_kernel); }
Tensor gelu(const Tensor& x) { return unary(x, "gelu", gelu_kernel); }
Tensor quick_gelu(const Tensor& x) { return unary(x, "quick_gelu", quick_gelu_kernel); }

Tensor geglu(const Tensor& x, DType out) {
  require_f32(x, "geglu");
  check(out == DType::F32 || out == DType::BF16, "geglu: output dtype must be F32 or BF16");
  const int64_t two_f = x.dim(-1);
  check(two_f % 2 == 0, "geglu: last dimension " + std::to_string(two_f) + " is odd");
  const int64_t F = two_f / 2, rows = x.numel() / two_f;
  Shape shape = x.shape();
  shape.back() = F;
  Tensor y = Tensor::uninitialized(shape, out);
  const float* a = x.f32();
  if (out == DType::BF16) {
    uint16_t* o = y.data<uint16_t>();
#pragma omp parallel for num_threads(threads_for_bytes(12.0 * double(rows * F))) schedule(static)
    for (int64_t r = 0; r < rows; ++r) geglu_kernel(a + r * two_f, a + r * two_f + F, o + r * F, F);
  } else {
    float* o = y.f32();
#pragma omp parallel for num_threads(threads_for_bytes(12.0 * double(rows * F))) schedule(static)
    for (int64_t r = 0; r < rows; ++r) geglu_kernel(a + r * two_f, a + r * two_f + F, o + r * F, F);
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) {
  require_f32(a, "add");
  require_f32(b, "add");
  check(a.shape() == b.shape(), "add: shapes " + shape_string(a.shape()) + " and " + shape_string(b.shape()) + " differ");
  Tensor y = Tensor::uninitialized(a.shape());
  const float* p = a.f32();
  const float* q = b.f32();
  float* o = y.f32();
  parallel_chunks(a.numel(), [&](int64_t begin, int64_t count) {
    for (int64_t i = begin; i < begin + count; ++i) o[i] = p[i] + q[i];
  });
  return y;
}

void add_inplace(Tensor& a, const Tensor& b) {
  require_f32(a, "add");
  require_f32(b, "add");
  check(a.shape() == b.shape(), "add: shapes " + shape_string(a.shape()) + " and " + shape_string(b.shape()) + " differ");
  float* o = a.f32();
  const float* p = b.f32();
  parallel_chunks(a.numel(), [&](int64_t begin, int64_t count) {
    for (int64_t i = begin; i < begin + count; ++i) o[i] += p[i];
  });
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
#pragma omp parallel for num_threads(threads_for_bytes(8.0 * double(x.numel()))) schedule(static) collapse(2)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < positions; ++p) {
      float* row = o + (n * positions + p) * C;
      const float* bn = b + n * C;
      for (int64_t c = 0; c < C; ++c) row[c] += bn[c];
    }
}

Tensor to_bf16(const Tensor& x) {
  require_f32(x, "to_bf16");
  Tensor y = Tensor::uninitialized(x.shape(), DType::BF16);
  const float* a = x.f32();
  uint16_t* o = y.data<uint16_t>();
  parallel_chunks(x.numel(), [&](int64_t begin, int64_t count) { to_bf16_kernel(a + begin, o + begin, count); });
  return y;
}

}  // namespace sdwalk::ops
