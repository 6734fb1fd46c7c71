#pragma once
// The bf16 attention kernel (AVX512_BF16) behind ops::attention for bf16 q/k/v.
#include <cstdint>

#include "sdwalk/tensor.hpp"

namespace sdwalk::ops::detail {

// The CPU has AVX512_BF16 and the head dimension is even (the kernel multiplies adjacent pairs).
bool attention_bf16_supported(int64_t head_dim);
// q [B, Tq, H*D], k and v [B, Tk, H*D] bf16 (checked by the caller) -> out (f32 or bf16, q's shape),
// no mask.
void attention_bf16(const Tensor& q, const Tensor& k, const Tensor& v, int heads, Tensor& out);

// The same through oneDNN's bf16 matmuls where they run on AMX (attention_amx.cpp), on the avx512 path,
// unless SDWALK_NO_AMX_ATTENTION is set (read once).
bool attention_amx_supported(int64_t head_dim);
void attention_amx(const Tensor& q, const Tensor& k, const Tensor& v, int heads, Tensor& out);

}  // namespace sdwalk::ops::detail
