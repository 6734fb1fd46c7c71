#pragma once
// diffusers Transformer2DModel (continuous input) and its BasicTransformerBlock (norm_type
// "layer_norm"): GroupNorm -> proj_in -> blocks over H*W tokens -> proj_out, plus the input.
#include <string>
#include <vector>

#include "models/attention.hpp"
#include "models/param_reader.hpp"

namespace sdwalk::models {

// norm1 -> attn1 (self) -> +; norm2 -> attn2 (cross, encoder_hidden_states) -> +; norm3 -> GEGLU
// feed-forward (ff.net.0.proj, ff.net.2) -> +.
class BasicTransformerBlock {
 public:
  BasicTransformerBlock() = default;
  BasicTransformerBlock(ParamReader& p, const std::string& prefix, int64_t dim, int heads, int64_t dim_head,
                        int64_t cross_attention_dim);
  // x: [B, T, dim]; context: [B, S, cross_attention_dim].
  Tensor forward(const Tensor& x, const Tensor& context) const;

 private:
  LayerNorm norm1_, norm2_, norm3_;
  Attention attn1_, attn2_;
  ops::Linear ff_proj_, ff_out_;
  DType act_ = DType::F32;  // what GEGLU writes for ff_out_ (bf16 in BF16 precision)
};

struct Transformer2DOptions {
  int heads = 8;
  int64_t dim_head = 0;
  int num_layers = 1;
  int64_t cross_attention_dim = 0;
  int norm_num_groups = 32;
  bool use_linear_projection = false;  // proj_in/out as nn.Linear rather than 1x1 convs: same math here
};

class Transformer2DModel {
 public:
  Transformer2DModel() = default;
  Transformer2DModel(ParamReader& p, const std::string& prefix, int64_t in_channels, const Transformer2DOptions& o);
  // x: [N, H, W, C]; context: [N, S, cross_attention_dim] -> [N, H, W, C].
  Tensor forward(const Tensor& x, const Tensor& context) const;

 private:
  GroupNorm norm_;
  ops::Linear proj_in_, proj_out_;  // a 1x1 conv on channels-last activations is a linear layer
  std::vector<BasicTransformerBlock> blocks_;
};

}  // namespace sdwalk::models
