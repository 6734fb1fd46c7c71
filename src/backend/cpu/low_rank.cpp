// Run-time LoRA branches (ops::LowRankBranch): the unmerged form diffusers/PEFT evaluate,
// base(x) + B(A(x)) * scaling, with the scale read per call so that it can change frame by frame.
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

bool LowRankBranch::active(int64_t batch) const {
  if (!scales) return false;
  for (const auto& a : adapters)
    for (int64_t n = 0; n < batch; ++n)
      if (scales->at(a.adapter, n) != 0.0f) return true;
  return false;
}

void LowRankBranch::add_to(const Tensor& x, Tensor& y) const {
  check(y.dtype() == DType::F32 && y.ndim() >= 1, "LoRA branch: the layer's result must be f32");
  const int64_t batch = x.ndim() >= 2 ? x.dim(0) : 1;
  const int64_t per_sample = y.numel() / batch;
  for (const auto& a : adapters) {
    bool any = false;
    for (int64_t n = 0; n < batch; ++n) any = any || scales->at(a.adapter, n) != 0.0f;
    if (!any) continue;
    const Tensor d = a.down_conv.defined() ? a.down_conv.forward(x) : a.down_linear.forward(x);
    const Tensor u = a.up.forward(d);
    check(u.numel() == y.numel(), "LoRA branch: up(down(x)) has shape " + shape_string(u.shape()) +
                                      ", the layer's result " + shape_string(y.shape()));
    const float* pu = u.f32();
    float* py = y.f32();
    for (int64_t n = 0; n < batch; ++n) {
      // As PEFT: the branch's result times scaling (weight * scale * alpha / r, one float), then added.
      const float c = float(double(scales->at(a.adapter, n)) * a.scaling);
      if (c == 0.0f) continue;
      const float* src = pu + n * per_sample;
      float* dst = py + n * per_sample;
#pragma omp parallel for schedule(static) num_threads(threads())
      for (int64_t i = 0; i < per_sample; ++i) dst[i] += src[i] * c;
    }
  }
}

}  // namespace sdwalk::ops
