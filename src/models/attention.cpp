#include "models/attention.hpp"

namespace sdwalk::models {

Attention::Attention(ParamReader& p, const std::string& prefix, int64_t query_dim, int64_t context_dim, int heads,
                     int64_t dim_head, bool qkv_bias)
    : heads_(heads), act_(p.activation_dtype()) {
  const int64_t inner = int64_t(heads) * dim_head;
  to_q_ = p.linear(prefix + ".to_q", query_dim, inner, qkv_bias);
  to_k_ = p.linear(prefix + ".to_k", context_dim, inner, qkv_bias);
  to_v_ = p.linear(prefix + ".to_v", context_dim, inner, qkv_bias);
  to_out_ = p.linear(prefix + ".to_out.0", inner, query_dim, true);
}

Tensor Attention::forward(const Tensor& x, const Tensor* context, const Tensor* residual) const {
  const Tensor& kv_in = context ? *context : x;
  // In bf16 precision q/k/v and the attention output stay bf16 between the products.
  Tensor q = to_q_.forward(x, nullptr, act_);
  Tensor k = to_k_.forward(kv_in, nullptr, act_);
  Tensor v = to_v_.forward(kv_in, nullptr, act_);
  return to_out_.forward(ops::attention(q, k, v, heads_, false, act_), residual);
}

}  // namespace sdwalk::models
