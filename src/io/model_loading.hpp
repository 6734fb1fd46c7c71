#pragma once
// Internal pieces of load_model_files (include/sdwalk/model_files.hpp), one .cpp each:
//   sd_configs.cpp          config.json reading, diffusers' defaults, SD 1.5 templates
//   config_values.cpp       values that would give NaN or black pictures (epsilons, latent scaling)
//   sd_schema.cpp           the tensors (names, shapes) a config implies; checking weights against them
//   sd_config_inference.cpp configs inferred from tensor shapes (single files)
//   ldm_checkpoint.cpp      original LDM key names -> diffusers names
//   diffusers_folder.cpp    the diffusers pipeline folder layout
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
// What diffusers' from_single_file gives an SD 1.5 checkpoint: PNDMScheduler with SD 1.5's config.
json sd15_scheduler_config();
// Throws Error "<label>: <what> is not supported ..." for architectures sdwalk does not run
// (SD 2.x cross_attention_dim 1024, SDXL additions, class embeddings, ...).
void check_supported(const json& unet_config, const json& text_encoder_config, const std::string& label);

// ---- config_values.cpp
// Throws Error naming the config and key when a value would make every picture black or NaN
// (norm_eps, layer_norm_eps <= 0, scaling_factor <= 0, non-numbers).
void check_config_values(const ModelFiles& m);

// ---- sd_schema.cpp
using TensorShapes = std::map<std::string, Shape>;
TensorShapes unet_tensor_shapes(const json& unet_config);
TensorShapes vae_tensor_shapes(const json& vae_config);
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

// ---- ldm_checkpoint.cpp
struct LdmNetworks {
  Weights text_encoder, unet, vae;
};
// Maps model.diffusion_model.* / first_stage_model.* / cond_stage_model.transformer.* to diffusers
// names (VAE attention 1x1 convs reshaped to Linear weights). Rejects SD 2.x / SDXL key sets.
LdmNetworks map_ldm_checkpoint(const SafeTensors& file);
// Diffusers name of one key, relative to its prefix ("" when the key has no twin); exposed for tests.
std::string ldm_unet_name(const std::string& key, int layers_per_block);
std::string ldm_vae_name(const std::string& key, int num_up_blocks);

// ---- diffusers_folder.cpp
ModelFiles load_diffusers_folder(const fs::path& folder);
// Adds every tensor of `file` (diffusers names) to a Weights for `network`; drops buffers such
// as position_ids and renames pre-0.14 diffusers VAE attention names.
Weights weights_from_file(const std::string& network, const SafeTensors& file);

}  // namespace sdwalk::io
