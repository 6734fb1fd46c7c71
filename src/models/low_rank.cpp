#include "models/low_rank.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk::models {
namespace {

// The up factor [out, r] or [out, r, 1, 1] as a Linear over channels (a 1x1 conv on NHWC is one).
ops::Linear up_layer(const Tensor& up) {
  const Tensor u = up.ndim() == 4 ? up.reshape({up.dim(0), up.dim(1)}) : up;
  return ops::Linear(u, Tensor(), Precision::F32, WeightStorage::F32);
}

// The branches are f32 whatever the base's precision: they are small, and a bf16 base then differs
// from its f32 twin only by the base's rounding.
template <class Layer, class MakeDown>
void attach(Layer& layer, const Weights& weights, const std::string& module, MakeDown make_down) {
  const std::vector<LowRankFactors>* factors = weights.low_rank(module);
  if (!factors || factors->empty()) return;
  auto branch = std::make_shared<ops::LowRankBranch>();
  branch->scales = weights.lora_scales();
  check(branch->scales != nullptr, weights.network() + ": LoRA branches on '" + module + "' without scales");
  for (const LowRankFactors& f : *factors) {
    ops::LowRankAdapter a;
    make_down(a, f.down);
    a.up = up_layer(f.up);
    a.scaling = f.scaling;
    a.adapter = f.adapter;
    branch->adapters.push_back(std::move(a));
  }
  layer.set_low_rank(std::move(branch));
}

}  // namespace

void attach_low_rank(ops::Linear& layer, const Weights& weights, const std::string& module) {
  attach(layer, weights, module, [](ops::LowRankAdapter& a, const Tensor& down) {
    const Tensor d = down.ndim() == 4 ? down.reshape({down.dim(0), down.dim(1)}) : down;
    a.down_linear = ops::Linear(d, Tensor(), Precision::F32, WeightStorage::F32);
  });
}

void attach_low_rank(ops::Conv2d& layer, const Weights& weights, const std::string& module) {
  const int stride = layer.stride(), padding = layer.padding();
  attach(layer, weights, module, [&](ops::LowRankAdapter& a, const Tensor& down) {
    a.down_conv = ops::Conv2d(down, Tensor(), stride, padding, Precision::F32, WeightStorage::F32);
  });
}

}  // namespace sdwalk::models
