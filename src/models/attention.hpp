#pragma once
// diffusers Attention with the classic AttnProcessor: to_q / to_k / to_v, multi-head
// softmax(q k^T / sqrt(dim_head)) v, then to_out.0 (dropout to_out.1 is the identity).
#include <string>

#include "models/param_reader.hpp"

namespace sdwalk::models {

class Attention {
 public:
  Attention() = default;
  // context_dim: width of encoder_hidden_states (cross-attention) or query_dim (self-attention).
  // qkv_bias: the VAE's attention has biases on q/k/v, the transformer's do not.
  Attention(ParamReader& p, const std::string& prefix, int64_t query_dim, int64_t context_dim, int heads,
            int64_t dim_head, bool qkv_bias);
  // x: [B, T, query_dim]; context: [B, S, context_dim] or nullptr for self-attention; `residual`
  // ([B, T, query_dim]) is added to the output projection when given.
  Tensor forward(const Tensor& x, const Tensor* context, const Tensor* residual) const;

 private:
  int heads_ = 0;
  DType act_ = DType::F32;  // dtype of q/k/v and the attention output (BF16 in bf16 precision)
  ops::Linear to_q_, to_k_, to_v_, to_out_;
};

}  // namespace sdwalk::models
