#pragma once
// diffusers UNet2DConditionModel for the SD 1.x / 2.x family (and LCM-distilled UNets with
// time_cond_proj_dim, and SDXL's with addition_embed_type "text_time"), built from its config.json and
// weights under diffusers' tensor names.
// Activations run channels-last inside; the API is NCHW, as diffusers.
#include <memory>
#include <nlohmann/json.hpp>

#include "sdwalk/precision.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {

// diffusers' added_cond_kwargs of an SDXL ("text_time") UNet, one row per sample of the batch.
struct AddedCondKwargs {
  Tensor text_embeds;  // [B, pooled width]: the second text encoder's text_embeds
  Tensor time_ids;     // [B, 6]: original (h, w), crop (top, left), target (h, w)
  bool defined() const { return text_embeds.defined() || time_ids.defined(); }
};

class UNet2DConditionModel {
 public:
  // Reads everything from `config` (diffusers' defaults for absent keys), converts the weights once;
  // throws Error for options outside the SD 1.x/2.x family (class/addition embeddings, SDXL-style
  // configs, ...) and for any tensor missing, misshapen or left unexplained by the config.
  // precision: of the convolutions and linear layers (BF16: weights stored bf16, f32 accumulation).
  UNet2DConditionModel(const nlohmann::json& config, const Weights& weights, Precision precision = Precision::F32,
                            WeightStorage storage = WeightStorage::Auto);
  ~UNet2DConditionModel();

  // sample: [B, in_channels, h, w] (h, w multiples of downscale_factor()); timestep: the same for
  // the whole batch; encoder_hidden_states: [B, S, cross_attention_dim] -> [B, out_channels, h, w].
  // timestep_cond: [1, time_cond_proj_dim] (LCM's guidance_scale_embedding, one row for the whole
  // batch like the timestep), or undefined for none; Error when given to a UNet without time_cond_proj_dim.
  // added: required by (and only by) a "text_time" UNet; added to the time embedding per sample.
  Tensor forward(const Tensor& sample, double timestep, const Tensor& encoder_hidden_states,
                 const Tensor& timestep_cond = Tensor(), const AddedCondKwargs& added = {}) const;
  // time_embedding(time_proj(timestep), timestep_cond): [1, time_embed_dim].
  Tensor time_embedding(double timestep, const Tensor& timestep_cond = Tensor()) const;
  // The config's time_cond_proj_dim; 0 when the UNet takes no guidance embedding.
  int time_cond_proj_dim() const;
  // "text_time" UNets: add_time_proj(time_ids) reshaped to [B, 6 * addition_time_embed_dim], and
  // add_embedding(cat([text_embeds, that])) [B, time_embed_dim], what forward adds to the time embedding.
  bool has_text_time() const;
  Tensor add_time_proj(const Tensor& time_ids) const;
  Tensor add_embedding(const AddedCondKwargs& added) const;
  // The width text_embeds must have (projection_class_embeddings_input_dim - 6 * addition_time_embed_dim); 0
  // without text_time.
  int pooled_dim() const;

  const nlohmann::json& config() const;
  int in_channels() const;
  int out_channels() const;
  int cross_attention_dim() const;
  int downscale_factor() const;  // 2^(number of downsamplers): 8 for SD

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

// diffusers' get_guidance_scale_embedding (the LCM pipelines' w embedding): [1, dim] =
// [sin(1000 w f_j), cos(1000 w f_j)], f_j = exp(-j ln(10000) / (dim/2 - 1)), j < dim/2, in float32 as
// torch computes it (an odd dim gets a trailing zero). The pipelines pass w = guidance_scale - 1.
Tensor guidance_scale_embedding(double w, int64_t dim);

}  // namespace sdwalk
