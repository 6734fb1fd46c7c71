// fp16 weight storage: the per-ISA widening kernel and the scratch buffer the widened weights live in.
#include "backend/cpu/half_weights.hpp"

#include <immintrin.h>

#include <algorithm>

#include "backend/cpu/dnnl_context.hpp"
#include "core/half.hpp"

namespace sdwalk::ops::detail {

namespace {
constexpr int64_t kChunk = int64_t(1) << 16;  // values per task: big enough to stream, many per layer

void widen_generic(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(src[i]);
}

__attribute__((target("avx2,f16c"))) void widen_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = half_to_float(src[i]);
}

__attribute__((target("avx512f"))) void widen_avx512(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  for (; i < n; ++i) dst[i] = half_to_float(src[i]);
}

struct Scratch {
  std::shared_ptr<std::byte> bytes;
  size_t size = 0;
};
}  // namespace

void half_to_float_on(Isa isa, const uint16_t* src, float* dst, int64_t n) {
  switch (isa) {
    case Isa::Avx512: widen_avx512(src, dst, n); return;
    case Isa::Avx2: widen_avx2(src, dst, n); return;
    case Isa::Generic: widen_generic(src, dst, n); return;
  }
}

HalfWeights to_half(const dnnl::memory& from) {
  HalfWeights h;
  h.desc = from.get_desc();
  const int64_t n = int64_t(h.desc.get_size() / sizeof(float));
  h.bytes = aligned_bytes(size_t(n) * sizeof(uint16_t));
  const auto* s = static_cast<const float*>(from.get_data_handle());
  auto* d = reinterpret_cast<uint16_t*>(h.bytes.get());
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t i = 0; i < n; ++i) d[i] = float_to_half(s[i]);
  return h;
}

dnnl::memory widen(const HalfWeights& h) {
  thread_local Scratch scratch;
  const size_t bytes = h.desc.get_size();
  if (scratch.size < bytes) {
    scratch.bytes.reset();  // free the smaller one first: never two scratch buffers at once
    scratch.bytes = aligned_bytes(bytes);
    scratch.size = bytes;
  }
  const int64_t n = int64_t(bytes / sizeof(float));
  const auto* s = reinterpret_cast<const uint16_t*>(h.bytes.get());
  auto* d = reinterpret_cast<float*>(scratch.bytes.get());
  const Isa path = isa();
#pragma omp parallel for num_threads(threads_for_bytes(6.0 * double(n))) schedule(static) if (n > kChunk)
  for (int64_t i = 0; i < n; i += kChunk) half_to_float_on(path, s + i, d + i, std::min(kChunk, n - i));
  return dnnl::memory(h.desc, cpu_engine(), scratch.bytes.get());
}

}  // namespace sdwalk::ops::detail
