#pragma once
// Layer weights kept as fp16 in the primitive's own (f32) layout and widened to f32 just before the
// primitive runs: half the resident bytes for f32 arithmetic on CPUs without bf16 (WeightStorage::F16).
#include <dnnl.hpp>
#include <cstdint>
#include <memory>

#include "backend/cpu/ops.hpp"

namespace sdwalk::ops::detail {

// dst[i] = float(src[i]) for n fp16 values on the given ISA path (F16C on avx2/avx512, scalar
// otherwise; every path gives the same, exact, values). Single-threaded; callers split the work.
void half_to_float_on(Isa isa, const uint16_t* src, float* dst, int64_t n);

struct HalfWeights {
  std::shared_ptr<std::byte> bytes;  // fp16 values, one per f32 element of `desc`
  dnnl::memory::desc desc;           // the f32 layout they stand for
  bool defined() const { return bytes != nullptr; }
};
// The fp16 copy of f32 weights `from` (rounded to nearest even; exact when they came from fp16).
HalfWeights to_half(const dnnl::memory& from);
// h widened to f32 in the calling thread's scratch buffer (it grows to the largest layer and is
// reused), spread over ops::threads(). Valid until this thread's next widen().
dnnl::memory widen(const HalfWeights& h);

}  // namespace sdwalk::ops::detail
