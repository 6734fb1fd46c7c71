#pragma once
// Reading transformers' text-encoder references: token id rows, and one layer of hidden_states.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk::test {

// input_ids [B, T] (int64) -> B rows of token ids.
inline std::vector<std::vector<int64_t>> rows_of(const Tensor& ids) {
  const int64_t B = ids.dim(0), T = ids.dim(1);
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) rows[size_t(b)].assign(ids.data<int64_t>() + b * T, ids.data<int64_t>() + (b + 1) * T);
  return rows;
}

// hidden_states [B, L+1, T, C] -> entry l as [B, T, C].
inline Tensor hidden_state(const Tensor& all, int64_t l) {
  const int64_t B = all.dim(0), L = all.dim(1), T = all.dim(2), C = all.dim(3);
  Tensor out({B, T, C});
  for (int64_t b = 0; b < B; ++b) std::copy_n(all.f32() + (b * L + l) * T * C, T * C, out.f32() + b * T * C);
  return out;
}

}  // namespace sdwalk::test
