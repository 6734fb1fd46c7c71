#pragma once
// Comparing tensors with the fixture's metric: max|ours - ref| / max|ref|.
#include <string>

#include "sdwalk/tensor.hpp"

namespace sdwalk::test {

struct Diff {
  double max_abs = 0;     // max |ours - ref|
  double max_ref = 0;     // max |ref|
  double mean_abs = 0;    // mean |ours - ref|
  double rel() const { return max_ref > 0 ? max_abs / max_ref : max_abs; }
  std::string str() const;
};

// Both tensors are converted to f32; shapes must have the same element count (else max_abs = inf).
Diff compare(const Tensor& ours, const Tensor& ref);

}  // namespace sdwalk::test
