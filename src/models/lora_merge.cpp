// Merging a LoRA into the weights (diffusers' fuse_lora): W += scale * scaling * up @ down. For a
// convolution the product composes the kxk down kernel with the 1x1 up: the merged layer is the
// same convolution, so merged layers cost nothing per step.
// The sum is formed in f32 whatever the checkpoint's dtype.
#include "sdwalk/error.hpp"
#include "sdwalk/lora.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {

size_t merge_lora(Weights& weights, const std::string& network, const LoraAdapter& adapter, double scale,
                  bool keep_f32) {
  size_t patched = 0;
  for (const LoraLayer& l : adapter.layers) {
    if (l.network != network) continue;
    ++patched;
    const float c = float(scale * l.scaling);
    if (c == 0.0f) continue;  // the weights stay the checkpoint's own, bit for bit
    const std::string name = l.module + ".weight";
    Tensor w = weights.get(name).to_f32();
    const int64_t out = l.up.dim(0), r = l.up.dim(1);
    const int64_t cols = l.down.numel() / r;  // in * kh * kw
    check(w.numel() == out * cols, network + ": LoRA layer '" + l.module + "' does not fit " + shape_string(w.shape()));
    const float* up = l.up.f32();
    const float* down = l.down.f32();
    float* pw = w.f32();
#pragma omp parallel for schedule(static) num_threads(ops::threads())
    for (int64_t o = 0; o < out; ++o) {
      float* row = pw + o * cols;
      for (int64_t j = 0; j < r; ++j) {
        const float u = up[o * r + j] * c;
        const float* d = down + j * cols;
        for (int64_t i = 0; i < cols; ++i) row[i] += u * d[i];
      }
    }
    // Unless keep_f32, stored back in the checkpoint's dtype (as fuse_lora does): an fp16 model stays the fp16 size.
    const DType stored = weights.get(name).dtype();
    release_mapped_pages(weights.get(name));
    weights.replace(name, stored == DType::F32 || keep_f32 ? std::move(w) : w.to(stored));
  }
  return patched;
}

}  // namespace sdwalk
