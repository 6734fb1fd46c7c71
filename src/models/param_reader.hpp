#pragma once
// Reads one network's parameters from Weights under diffusers names, checking shapes, and builds the
// kernels' objects from them (weights converted once, here). Remembers what was taken so that a
// tensor the config does not explain (config and file disagree) is reported instead of ignored.
#include <set>
#include <string>

#include "sdwalk/ops.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk::models {

// torch.nn.GroupNorm(groups, C, eps) over channels-last activations, optionally fused with SiLU.
struct GroupNorm {
  int groups = 0;
  float eps = 0;
  Tensor gamma, beta;
  Tensor forward(const Tensor& x, bool silu = false) const { return ops::group_norm(x, groups, gamma, beta, eps, silu); }
};

// torch.nn.LayerNorm(C, eps) over the last dimension.
struct LayerNorm {
  float eps = 0;
  Tensor gamma, beta;
  Tensor forward(const Tensor& x) const { return ops::layer_norm(x, gamma, beta, eps); }
};

class ParamReader {
 public:
  explicit ParamReader(const Weights& weights) : weights_(weights) {}

  // The stored tensor (any dtype), shape checked.
  Tensor raw(const std::string& name, const Shape& shape);
  // Same, converted to f32.
  Tensor f32(const std::string& name, const Shape& shape);
  bool contains(const std::string& name) const { return weights_.contains(name); }

  // <prefix>.weight [cout, cin, k, k] and <prefix>.bias [cout].
  ops::Conv2d conv(const std::string& prefix, int64_t cin, int64_t cout, int kernel, int stride, int padding);
  // <prefix>.weight [out, in] (or a 1x1 conv's [out, in, 1, 1]) and, when `bias`, <prefix>.bias [out].
  ops::Linear linear(const std::string& prefix, int64_t in, int64_t out, bool bias);
  GroupNorm group_norm(const std::string& prefix, int64_t channels, int groups, float eps);
  LayerNorm layer_norm(const std::string& prefix, int64_t channels, float eps);

  // Throws Error naming the first tensor of the file that no module took.
  void check_all_used() const;
  const std::string& network() const { return weights_.network(); }

 private:
  const Weights& weights_;
  std::set<std::string> used_;
};

}  // namespace sdwalk::models
