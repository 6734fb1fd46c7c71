#pragma once
// Reproducible standard-normal test inputs (std::mt19937): synthetic data for the planner tests,
// which check properties and identities, not reference values.
#include <random>

#include "sdwalk/tensor.hpp"

namespace sdwalk::test {

inline Tensor gaussian(const Shape& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = n(rng);
  return t;
}

}  // namespace sdwalk::test
