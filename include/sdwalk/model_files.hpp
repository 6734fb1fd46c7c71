#pragma once
// Finds an SD 1.x / 2.x / SDXL model on disk and maps it to one internal naming (diffusers'/transformers'):
// a diffusers pipeline folder, or a single-file original LDM checkpoint (.safetensors).
// The weights stay in the files (mmap'ed views, stored dtype); configs are the diffusers
// config.json documents, completed with diffusers' defaults for keys they leave out.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "sdwalk/weights.hpp"

namespace sdwalk {

enum class ModelLayout { DiffusersFolder, LdmSingleFile };

std::string layout_name(ModelLayout layout);  // "diffusers folder", "single-file LDM checkpoint"

struct ModelFiles {
  ModelLayout layout = ModelLayout::DiffusersFolder;
  std::filesystem::path path;           // what the user gave
  std::filesystem::path tokenizer_dir;  // folder with vocab.json + merges.txt ("" when unknown)
  // transformers CLIPTextModel / diffusers UNet2DConditionModel / AutoencoderKL / scheduler configs.
  nlohmann::json text_encoder_config, unet_config, vae_config, scheduler_config;
  Weights text_encoder, unet, vae;  // diffusers/transformers tensor names, stored dtype (views into mmap)
  std::string weights_dtype;        // "F32", "F16", "BF16" or "mixed"
  // Where the configs came from: "<folder>" or "inferred from tensor shapes (+ SD 1.5 defaults)"
  // or "<config_dir> (given with --config)".
  std::string config_source;
  // SDXL (StableDiffusionXLPipeline folders): the second text encoder (CLIPTextModelWithProjection), its
  // tokenizer, and model_index.json's force_zeros_for_empty_prompt. Null config / empty otherwise.
  nlohmann::json text_encoder_2_config;
  Weights text_encoder_2;
  std::filesystem::path tokenizer_2_dir;
  bool force_zeros_for_empty_prompt = false;
  bool is_sdxl() const { return !text_encoder_2_config.is_null(); }
};

// path: a diffusers folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/)
// or a single-file .safetensors LDM checkpoint.
// tokenizer_dir overrides/sets the tokenizer folder (for single files it comes from here, else
// from config_dir/tokenizer, else it stays "").
// config_dir: a diffusers folder whose config files (text_encoder/config.json, unet/config.json,
// vae/config.json, scheduler/scheduler_config.json) replace the configs inferred for a single file
// (needed where shapes cannot tell, e.g. attention heads of a non-standard model).
// Every network's tensors are checked against its config (names and shapes); any defect, an
// unsupported architecture (SDXL, ...) or a missing file throws one Error naming it.
ModelFiles load_model_files(const std::filesystem::path& path, const std::filesystem::path& tokenizer_dir = {},
                            const std::filesystem::path& config_dir = {});

// Throws Error naming the tensor when any float tensor holds NaN or Inf
// ("unet: tensor 'x' contains NaN/Inf (<source>)").
void check_finite(const Weights& w);

}  // namespace sdwalk
