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

// The fixtures README's element-wise tolerance |ours - ref| <= atol + rtol |ref|.
struct Tolerance {
  double atol = 0, rtol = 0;
};
inline constexpr Tolerance kModuleTolerance{1e-4, 1e-4};    // single modules
inline constexpr Tolerance kLatentsTolerance{2e-3, 1e-4};   // pipeline latents
inline constexpr Tolerance kImageTolerance{1e-3, 0};        // images in [0, 1]

struct Closeness {
  double worst = 0;    // max over elements of |ours - ref| / (atol + rtol |ref|); <= 1 passes (inf: shapes differ or NaN)
  double max_abs = 0;  // max |ours - ref|
  bool ok() const { return worst <= 1.0; }
  std::string str() const;
};
Closeness closeness(const Tensor& ours, const Tensor& ref, Tolerance tol);

}  // namespace sdwalk::test
