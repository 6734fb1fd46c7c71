#include "models/transformer_2d_model.hpp"

namespace sdwalk::models {

namespace {
// BasicTransformerBlock's LayerNorms (diffusers default norm_eps) and Transformer2DModel's GroupNorm
// use fixed epsilons, not the UNet's norm_eps.
constexpr float kLayerNormEps = 1e-5f;
constexpr float kGroupNormEps = 1e-6f;
constexpr int kFeedForwardMult = 4;
}  // namespace

BasicTransformerBlock::BasicTransformerBlock(ParamReader& p, const std::string& prefix, int64_t dim, int heads,
                                             int64_t dim_head, int64_t cross_attention_dim) {
  norm1_ = p.layer_norm(prefix + ".norm1", dim, kLayerNormEps);
  attn1_ = Attention(p, prefix + ".attn1", dim, dim, heads, dim_head, /*qkv_bias=*/false);
  norm2_ = p.layer_norm(prefix + ".norm2", dim, kLayerNormEps);
  attn2_ = Attention(p, prefix + ".attn2", dim, cross_attention_dim, heads, dim_head, /*qkv_bias=*/false);
  norm3_ = p.layer_norm(prefix + ".norm3", dim, kLayerNormEps);
  const int64_t inner = dim * kFeedForwardMult;
  ff_proj_ = p.linear(prefix + ".ff.net.0.proj", dim, 2 * inner, true);  // GEGLU: value and gate halves
  ff_out_ = p.linear(prefix + ".ff.net.2", inner, dim, true);
  act_ = p.activation_dtype();
}

Tensor BasicTransformerBlock::forward(const Tensor& x, const Tensor& context) const {
  Tensor n = norm1_.forward(x);
  Tensor h = attn1_.forward(n, nullptr, &x);
  n = norm2_.forward(h);
  h = attn2_.forward(n, &context, &h);
  n = norm3_.forward(h);
  return ff_out_.forward(ops::geglu(ff_proj_.forward(n), act_), &h);
}

Transformer2DModel::Transformer2DModel(ParamReader& p, const std::string& prefix, int64_t in_channels,
                                       const Transformer2DOptions& o) {
  const int64_t inner = int64_t(o.heads) * o.dim_head;
  norm_ = p.group_norm(prefix + ".norm", in_channels, o.norm_num_groups, kGroupNormEps);
  proj_in_ = p.linear(prefix + ".proj_in", in_channels, inner, true);
  for (int i = 0; i < o.num_layers; ++i)
    blocks_.emplace_back(p, prefix + ".transformer_blocks." + std::to_string(i), inner, o.heads, o.dim_head,
                         o.cross_attention_dim);
  proj_out_ = p.linear(prefix + ".proj_out", inner, in_channels, true);
}

Tensor Transformer2DModel::forward(const Tensor& x, const Tensor& context) const {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor h = proj_in_.forward(norm_.forward(x));
  h = h.reshape({N, H * W, h.dim(-1)});  // channels-last: the tokens are already in place
  for (const auto& block : blocks_) h = block.forward(h, context);
  const Tensor residual = x.reshape({N, H * W, C});
  return proj_out_.forward(h, &residual).reshape({N, H, W, C});
}

}  // namespace sdwalk::models
