#pragma once
// transformers' CLIPTextModel (the text encoder of SD 1.x, and of SD 2.x with gelu): token + learned position embeddings,
// pre-LayerNorm transformer layers with causal self-attention, a final LayerNorm. With a text_projection.weight
// tensor it is CLIPTextModelWithProjection (SDXL's second encoder): the pooled token projected, text_embeds.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "sdwalk/precision.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {

class ClipTextModel {
 public:
  // config: transformers CLIPTextConfig (config.json); weights: tensors named text_model.* (any float dtype,
  // converted to f32 once here). Throws Error naming the tensor or config key that does not fit.
  // precision: of the linear layers (BF16: weights stored bf16, f32 accumulation; LayerNorms, softmax
  // and the residual stream stay f32).
  ClipTextModel(const nlohmann::json& config, const Weights& weights, Precision precision = Precision::F32,
                     WeightStorage storage = WeightStorage::Auto);
  ~ClipTextModel();
  ClipTextModel(ClipTextModel&&) noexcept;
  ClipTextModel& operator=(ClipTextModel&&) noexcept;

  struct Output {
    Tensor last_hidden_state;           // [B, T, C], after final_layer_norm
    std::vector<Tensor> hidden_states;  // num_layers + 1 tensors [B, T, C]: embeddings, then each layer (raw)
    Tensor pooler_output;               // [B, C]: last_hidden_state at the end-of-text token of each row
    Tensor text_embeds;                 // [B, projection_dim]: text_projection(pooler_output); undefined without one
  };
  // B sequences of the same length T <= max_position_embeddings (77 for SD).
  Output forward(const std::vector<std::vector<int64_t>>& input_ids) const;
  // What SD's encode_prompt returns: last_hidden_state (clip_skip 0), or, as diffusers' clip_skip,
  // final_layer_norm(hidden_states[-(clip_skip + 1)]).
  Tensor encode(const std::vector<std::vector<int64_t>>& input_ids, int clip_skip = 0) const;

  int hidden_size() const;
  int num_layers() const;
  int max_position_embeddings() const;
  // projection_dim of CLIPTextModelWithProjection; 0 for a plain CLIPTextModel.
  int projection_dim() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sdwalk
