#pragma once
// Internal pieces of load_model_files (include/sdwalk/model_files.hpp), one .cpp each:
//   sd_configs.cpp          config.json reading, diffusers' defaults, SD 1.5 templates
//   config_values.cpp       values that would give NaN or black pictures (epsilons, latent scaling)
//   sd_schema.cpp           the tensors (names, shapes) a config implies; checking weights against them
//   sd_config_inference.cpp configs inferred from tensor shapes (single files)
//   ldm_checkpoint.cpp      original LDM key names -> diffusers names
//   open_clip_checkpoint.cpp SD 2.x's OpenCLIP text encoder keys -> transformers names
//   diffusers_folder.cpp    the diffusers pipeline folder layout (SD and SDXL)
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk::io {

using nlohmann::json;
namespace fs = std::filesystem;

// ---- sd_configs.cpp
// Parses a JSON file; Error naming the file when it is missing or invalid.
json read_json_file(const fs::path& file);
// read_json_file's parsing of the file's text; `label` names it in errors. Expects an object.
json parse_json_object(const std::string& text, const std::string& label);
// The config with every key diffusers/transformers would default filled in (keys present are kept).
json complete_unet_config(json config);
json complete_vae_config(json config);
json complete_text_encoder_config(json config);
// SD 1.5's own configs (runwayml/stable-diffusion-v1-5), completed: the starting point of inference.
json sd15_unet_config();
json sd15_vae_config();
json sd15_text_encoder_config();
// SDXL base 1.0's (stabilityai/stable-diffusion-xl-base-1.0) UNet, VAE, second text encoder (the first
// is SD 1.5's CLIP ViT-L) and scheduler configs, completed: for random SDXL-sized benchmark models.
json sdxl_unet_config();
json sdxl_vae_config();
json sdxl_text_encoder_2_config();
json sdxl_scheduler_config();
// What diffusers' from_single_file gives an SD 1.5 checkpoint: PNDMScheduler with SD 1.5's config.
json sd15_scheduler_config();
// ... and an SD 2.x one: stabilityai/stable-diffusion-2-1's DDIMScheduler config (v_prediction).
json sd21_scheduler_config();
// Throws Error "<label>: <what> is not supported ..." for architectures sdwalk does not run
// (class embeddings, ...); text_encoder_2_config: SDXL's second encoder, null for SD 1.x/2.x.
void check_supported(const json& unet_config, const json& text_encoder_config, const json& text_encoder_2_config,
                     const std::string& label);

// ---- config_values.cpp
// Throws Error naming the config and key when a value would make every picture black or NaN
// (norm_eps, layer_norm_eps <= 0, scaling_factor <= 0, non-numbers).
void check_config_values(const ModelFiles& m);

// ---- sd_schema.cpp
using TensorShapes = std::map<std::string, Shape>;
TensorShapes unet_tensor_shapes(const json& unet_config);
TensorShapes vae_tensor_shapes(const json& vae_config);
// With text_projection.weight when the config's architectures name CLIPTextModelWithProjection.
TensorShapes text_encoder_tensor_shapes(const json& text_encoder_config);
// Every expected tensor present with its shape, nothing else; else Error naming the first defect,
// the source and `config_label` (where the config came from).
void check_weights(const Weights& w, const TensorShapes& expected, const std::string& config_label);

// ---- sd_config_inference.cpp
struct InferredConfig {
  json config;                        // complete config (SD 1.5 values where shapes cannot tell)
  std::set<std::string> inferred;     // keys read off the tensor shapes; the rest are assumed
};
InferredConfig infer_unet_config(const Weights& unet);
InferredConfig infer_vae_config(const Weights& vae);
InferredConfig infer_text_encoder_config(const Weights& text_encoder);
// SD 2.x (the checkpoint's text encoder is OpenCLIP): what shapes cannot tell takes SD 2.1's values
// instead of SD 1.5's: gelu, 23 text layers at most, heads of width 64, upcast_attention.
void apply_sd2_defaults(InferredConfig& unet, InferredConfig& text_encoder);
// SDXL base (stabilityai/stable-diffusion-xl-base-1.0) where shapes cannot tell: the second encoder is a
// CLIPTextModelWithProjection with gelu and heads of width 64; the UNet's text_time embedding (its sizes
// from add_embedding and the projection), transformer depth per block, heads of width 64.
InferredConfig infer_sdxl_text_encoder_2_config(const Weights& text_encoder_2);
void apply_sdxl_defaults(InferredConfig& unet, const Weights& unet_weights, const InferredConfig& text_encoder_2);

// ---- ldm_checkpoint.cpp
struct LdmNetworks {
  Weights text_encoder, unet, vae;
  bool open_clip = false;  // the text encoder came as OpenCLIP (SD 2.x), not as transformers' CLIPTextModel
  bool sdxl = false;       // SDXL base (sgm layout): text_encoder_2 holds the second encoder
  Weights text_encoder_2{"text_encoder_2", ""};
};
// Maps model.diffusion_model.* / first_stage_model.* / cond_stage_model.transformer.* (SD 1.x) or
// cond_stage_model.model.* (SD 2.x, OpenCLIP) to diffusers names (VAE attention 1x1 convs reshaped
// to Linear weights); SDXL base's sgm layout: conditioner.embedders.0.transformer.* (CLIP-L) and
// conditioner.embedders.1.model.* (OpenCLIP bigG, with its text_projection) as text_encoder_2, the
// UNet's label_emb as add_embedding.
LdmNetworks map_ldm_checkpoint(const SafeTensors& file);
// Diffusers name of one key, relative to its prefix ("" when the key has no twin); exposed for tests.
std::string ldm_unet_name(const std::string& key, int layers_per_block);
std::string ldm_vae_name(const std::string& key, int num_up_blocks);

// ---- open_clip_checkpoint.cpp
// `keys` (relative to `prefix`, "cond_stage_model.model." / SDXL's "conditioner.embedders.1.model.")
// renamed to text_model.*, in_proj split into q/k/v, as Weights for `network`; with_projection (SDXL):
// text_projection [C, P] kept as text_projection.weight [P, C]. Error naming a key with no
// CLIPTextModel(WithProjection) counterpart.
Weights map_open_clip_text_encoder(const SafeTensors& file, const std::string& prefix,
                                   const std::vector<std::string>& keys, const std::string& network = "text_encoder",
                                   bool with_projection = false);
// A copy of the matrix `t` transposed, in its dtype.
Tensor transposed_2d(const Tensor& t);
// The text encoder without layers num_layers and above: SD 2 runs 23 of OpenCLIP ViT-H's 24 layers, and
// diffusers' converter reads only the layers its config names.
Weights keep_text_layers(const Weights& text_encoder, int64_t num_layers);

// ---- diffusers_folder.cpp
ModelFiles load_diffusers_folder(const fs::path& folder);
// Adds every tensor of `file` (diffusers names) to a Weights for `network`; drops buffers such
// as position_ids and renames pre-0.14 diffusers VAE attention names.
Weights weights_from_file(const std::string& network, const SafeTensors& file);

}  // namespace sdwalk::io
