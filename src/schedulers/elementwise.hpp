#pragma once
// Element-wise float32 arithmetic for the scheduler steps. Each step spells out diffusers'
// torch expression as one lambda; every intermediate is rounded to float32 as torch rounds it
// (this area is compiled with -ffp-contract=off, so no multiply-add is fused).
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk::sched {

inline Tensor as_f32(const Tensor& t) { return t.dtype() == DType::F32 ? t : t.to_f32(); }

// out[i] = f(a[i], b[i], ...) over tensors of one element count; the result has a's shape.
template <class F, class... T>
Tensor map_f32(F f, const Tensor& a, const T&... rest) {
  check(a.defined(), "scheduler: undefined tensor");
  ((void)check(rest.numel() == a.numel(), "scheduler: tensors of shapes " + shape_string(a.shape()) + " and " +
                                              shape_string(rest.shape()) + " do not match"),
   ...);
  const Tensor a32 = as_f32(a);
  Tensor out(a.shape(), DType::F32);
  float* o = out.f32();
  const float* pa = a32.f32();
  auto run = [&](const auto&... ts) {
    const int64_t n = a.numel();
    for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i], ts.f32()[i]...);
  };
  run(as_f32(rest)...);
  return out;
}

}  // namespace sdwalk::sched
