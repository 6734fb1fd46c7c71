// config.json documents: reading, diffusers'/transformers' defaults, SD 1.5's own values.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"
#include "core/python_json.hpp"

namespace sdwalk::io {
namespace {

// Keys absent from a config take the class's __init__ default (diffusers 0.30, transformers 4.45).
const json& unet_defaults() {
  static const json d = json::parse(R"({
    "_class_name": "UNet2DConditionModel", "sample_size": null, "in_channels": 4, "out_channels": 4,
    "center_input_sample": false, "flip_sin_to_cos": true, "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "only_cross_attention": false, "block_out_channels": [320, 640, 1280, 1280], "layers_per_block": 2,
    "downsample_padding": 1, "mid_block_scale_factor": 1, "dropout": 0.0, "act_fn": "silu",
    "norm_num_groups": 32, "norm_eps": 1e-05, "cross_attention_dim": 1280, "transformer_layers_per_block": 1,
    "reverse_transformer_layers_per_block": null, "encoder_hid_dim": null, "encoder_hid_dim_type": null,
    "attention_head_dim": 8, "num_attention_heads": null, "dual_cross_attention": false,
    "use_linear_projection": false, "class_embed_type": null, "addition_embed_type": null,
    "addition_time_embed_dim": null, "num_class_embeds": null, "upcast_attention": false,
    "resnet_time_scale_shift": "default", "resnet_skip_time_act": false, "resnet_out_scale_factor": 1.0,
    "time_embedding_type": "positional", "time_embedding_dim": null, "time_embedding_act_fn": null,
    "timestep_post_act": null, "time_cond_proj_dim": null, "conv_in_kernel": 3, "conv_out_kernel": 3,
    "projection_class_embeddings_input_dim": null, "attention_type": "default",
    "class_embeddings_concat": false, "mid_block_only_cross_attention": null, "cross_attention_norm": null,
    "addition_embed_type_num_heads": 64
  })");
  return d;
}

const json& vae_defaults() {
  static const json d = json::parse(R"({
    "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D"],
    "block_out_channels": [64], "layers_per_block": 1, "act_fn": "silu", "latent_channels": 4,
    "norm_num_groups": 32, "sample_size": 32, "scaling_factor": 0.18215, "shift_factor": null,
    "latents_mean": null, "latents_std": null, "force_upcast": true, "use_quant_conv": true,
    "use_post_quant_conv": true, "mid_block_add_attention": true
  })");
  return d;
}

const json& text_encoder_defaults() {
  static const json d = json::parse(R"({
    "architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": 49408,
    "hidden_size": 512, "intermediate_size": 2048, "projection_dim": 512, "num_hidden_layers": 12,
    "num_attention_heads": 8, "max_position_embeddings": 77, "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-05, "attention_dropout": 0.0, "dropout": 0.0, "initializer_range": 0.02,
    "initializer_factor": 1.0, "pad_token_id": 1, "bos_token_id": 49406, "eos_token_id": 49407
  })");
  return d;
}

json with_defaults(json config, const json& defaults) {
  for (auto it = defaults.begin(); it != defaults.end(); ++it)
    if (!config.contains(it.key())) config[it.key()] = it.value();
  return config;
}

}  // namespace

json parse_json_object(const std::string& text, const std::string& label) {
  // diffusers writes configs with Python's json module: DPMSolverMultistepScheduler's default
  // "lambda_min_clipped" is a bare -Infinity, which strict JSON rejects.
  const json j = parse_python_json(text, label);
  if (!j.is_object()) throw Error(label + ": expected a JSON object");
  return j;
}

json read_json_file(const fs::path& file) {
  check_regular_file(file, "a JSON config file");  // before opening: a FIFO would block
  std::ifstream in(file);
  if (!in) throw Error(file.string() + ": missing (cannot open)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_object(ss.str(), file.string());
}

json complete_unet_config(json config) { return with_defaults(std::move(config), unet_defaults()); }
json complete_vae_config(json config) { return with_defaults(std::move(config), vae_defaults()); }
json complete_text_encoder_config(json config) { return with_defaults(std::move(config), text_encoder_defaults()); }

// runwayml/stable-diffusion-v1-5 {unet,vae,text_encoder}/config.json.
json sd15_unet_config() {
  return complete_unet_config(json::parse(R"({
    "act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": false, "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
    "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
  })"));
}

json sd15_vae_config() {
  return complete_vae_config(json::parse(R"({
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
    "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3,
    "sample_size": 512, "scaling_factor": 0.18215,
    "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
  })"));
}

json sd15_text_encoder_config() {
  return complete_text_encoder_config(json::parse(R"({
    "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
    "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": 3072, "layer_norm_eps": 1e-05,
    "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 12,
    "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768, "vocab_size": 49408
  })"));
}

json sd15_scheduler_config() {
  return json::parse(R"({
    "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, "set_alpha_to_one": false,
    "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null
  })");
}

// stabilityai/stable-diffusion-xl-base-1.0 {unet,vae,text_encoder,text_encoder_2,scheduler} configs.
json sdxl_unet_config() {
  return complete_unet_config(json::parse(R"({
    "act_fn": "silu", "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
    "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280], "center_input_sample": false,
    "cross_attention_dim": 2048, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "downsample_padding": 1, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
    "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816, "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true
  })"));
}

json sdxl_vae_config() {
  // SD 1.5's VAE architecture with its own scaling and the fp16 caveat.
  json c = sd15_vae_config();
  c["force_upcast"] = true;
  c["sample_size"] = 1024;
  c["scaling_factor"] = 0.13025;
  return c;
}

json sdxl_text_encoder_2_config() {
  return complete_text_encoder_config(json::parse(R"({
    "architectures": ["CLIPTextModelWithProjection"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
    "eos_token_id": 2, "hidden_act": "gelu", "hidden_size": 1280, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": 5120, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
    "model_type": "clip_text_model", "num_attention_heads": 20, "num_hidden_layers": 32, "pad_token_id": 1,
    "projection_dim": 1280, "vocab_size": 49408
  })"));
}

json sdxl_scheduler_config() {
  return json::parse(R"({
    "_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear", "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false, "skip_prk_steps": true,
    "steps_offset": 1, "timestep_spacing": "leading", "trained_betas": null, "use_karras_sigmas": false
  })");
}

// stabilityai/stable-diffusion-2-1 scheduler/scheduler_config.json.
json sd21_scheduler_config() {
  return json::parse(R"({
    "_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
    "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null
  })");
}

void check_supported(const json& unet, const json& text, const json& text_2, const std::string& label) {
  auto unsupported = [&](const std::string& what) {
    throw Error(label + ": " + what + " is not supported (sdwalk runs Stable Diffusion 1.x, 2.x and SDXL models)");
  };
  const bool sdxl = !text_2.is_null();
  const auto cross = unet.value("cross_attention_dim", json());
  if (!cross.is_number_integer()) unsupported("cross_attention_dim " + cross.dump());
  // time_cond_proj_dim (LCM's guidance embedding) is supported; addition_embed_type "text_time" with SDXL's
  // second text encoder.
  const json addition = unet.value("addition_embed_type", json());
  if (!addition.is_null() && addition != "text_time") unsupported("UNet addition_embed_type " + addition.dump());
  if (sdxl && addition.is_null())
    throw Error(label + ": an SDXL pipeline (text_encoder_2) needs a UNet with addition_embed_type \"text_time\"");
  if (!sdxl && !addition.is_null())
    throw Error(label + ": the UNet has addition_embed_type \"text_time\" (SDXL) but the model has no text_encoder_2 "
                        "(an SDXL folder has text_encoder/ and text_encoder_2/)");
  for (const char* key : {"class_embed_type", "encoder_hid_dim_type", "num_class_embeds", "time_embedding_act_fn",
                          "timestep_post_act"})
    if (!unet.value(key, json()).is_null()) unsupported(std::string("UNet ") + key + " " + unet[key].dump());
  auto expect = [&](const char* key, const json& want) {
    if (unet.value(key, want) != want) unsupported(std::string("UNet ") + key + " " + unet[key].dump());
  };
  expect("dual_cross_attention", false);
  expect("only_cross_attention", false);
  expect("resnet_time_scale_shift", "default");
  expect("time_embedding_type", "positional");
  expect("attention_type", "default");
  expect("center_input_sample", false);
  if (!text.value("hidden_size", json()).is_number_integer()) unsupported("text encoder without hidden_size");
  if (!sdxl) {
    if (text["hidden_size"] != cross)
      throw Error(label + ": the UNet's cross_attention_dim " + cross.dump() +
                  " differs from the text encoder's hidden_size " + text["hidden_size"].dump());
    return;
  }
  // SDXL: both encoders' penultimate states side by side; the second's projection is the pooled text.
  if (!text_2.value("hidden_size", json()).is_number_integer() ||
      !text_2.value("projection_dim", json()).is_number_integer())
    unsupported("text_encoder_2 without hidden_size and projection_dim");
  const json arch = text_2.value("architectures", json());
  if (!arch.is_array() || std::find(arch.begin(), arch.end(), json("CLIPTextModelWithProjection")) == arch.end())
    throw Error(label + ": text_encoder_2 must be a CLIPTextModelWithProjection (its config's architectures say " +
                arch.dump() + ")");
  const int64_t width = text["hidden_size"].get<int64_t>() + text_2["hidden_size"].get<int64_t>();
  if (cross != width)
    throw Error(label + ": the UNet's cross_attention_dim " + cross.dump() + " differs from the two text encoders' " +
                "hidden sizes together (" + std::to_string(width) + ")");
  const json time_dim = unet.value("addition_time_embed_dim", json()),
             input_dim = unet.value("projection_class_embeddings_input_dim", json());
  if (!time_dim.is_number_integer() || !input_dim.is_number_integer() ||
      input_dim.get<int64_t>() != 6 * time_dim.get<int64_t>() + text_2["projection_dim"].get<int64_t>())
    throw Error(label + ": the UNet's projection_class_embeddings_input_dim " + input_dim.dump() +
                " is not 6 x addition_time_embed_dim " + time_dim.dump() + " + text_encoder_2's projection_dim " +
                text_2["projection_dim"].dump());
}

}  // namespace sdwalk::io
