#pragma once
// torch.Generator('cpu') reproduced bit for bit: `TorchGenerator g(s); g.randn(shape)` returns the
// numbers of `torch.randn(shape, generator=torch.Generator('cpu').manual_seed(s))` (float32), and
// successive calls continue the stream exactly as successive torch.randn calls on one generator do.
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk {

class TorchGenerator {
 public:
  // torch's mt19937 keeps only the low 32 bits of the seed.
  explicit TorchGenerator(uint64_t seed);
  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const { return seed_; }

  // diffusers' list of generators (`generator=[g0, g1, ...]`, one per sample): randn([B, ...]) draws
  // row i from generator i alone, so a sample's noise does not depend on the others in its batch.
  // B must equal seeds.size(); random() and random64() are not available on it.
  static TorchGenerator per_sample(const std::vector<uint64_t>& seeds);

  // float32 N(0, 1) of the given shape, like torch.randn(shape, generator=g) on the CPU.
  Tensor randn(const Shape& shape);

  // The raw draws torch's distributions are built on (CPUGeneratorImpl::random / random64).
  uint32_t random();
  uint64_t random64();

 private:
  void normal_fill(float* data, int64_t n);  // torch's path for float tensors of >= 16 elements
  double normal_double();                     // torch's scalar path (at::normal_distribution<double>)

  uint64_t seed_ = 0;
  std::mt19937 engine_;
  std::optional<double> next_double_normal_;  // Box-Muller's second value, cached like torch
  std::vector<TorchGenerator> samples_;       // per_sample(): one generator per batch row
};

}  // namespace sdwalk
