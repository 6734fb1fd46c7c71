// Configs for a single-file checkpoint, read off its tensor shapes (diffusers names, after mapping).
// What shapes cannot tell (attention heads, norm groups, scaling factor, ...) keeps SD 1.5's value;
// `inferred` lists the keys that came from the tensors.
#include <algorithm>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {
namespace {

struct Shapes {
  const Weights& w;
  bool has(const std::string& name) const { return w.contains(name); }
  int64_t dim(const std::string& name, int i) const {
    const Tensor& t = w.get(name);  // throws "<network>: missing tensor ..."
    if (t.ndim() <= (i < 0 ? -i - 1 : i))
      throw Error(w.network() + ": tensor '" + name + "' has shape " + shape_string(t.shape()) + ", too few dimensions (" +
                  w.source() + ")");
    return t.dim(i);
  }
  int ndim(const std::string& name) const { return w.get(name).ndim(); }
  // Number of consecutive indices n = 0, 1, ... with `prefix + n + suffix` present.
  int64_t count(const std::string& prefix, const std::string& suffix) const {
    int64_t n = 0;
    while (has(prefix + std::to_string(n) + suffix)) ++n;
    return n;
  }
};

}  // namespace

InferredConfig infer_unet_config(const Weights& unet) {
  const Shapes s{unet};
  InferredConfig r{sd15_unet_config(), {}};
  json& c = r.config;
  auto set = [&](const std::string& key, json v) {
    c[key] = std::move(v);
    r.inferred.insert(key);
  };
  const int64_t nb = s.count("down_blocks.", ".resnets.0.conv1.weight");
  if (nb == 0) throw Error("unet: no down blocks found (looked for 'down_blocks.0.resnets.0.conv1.weight' in " + unet.source() + ")");
  const int64_t layers = s.count("down_blocks.0.resnets.", ".conv1.weight");
  json boc = json::array(), down = json::array(), up = json::array();
  for (int64_t i = 0; i < nb; ++i) {
    const std::string p = "down_blocks." + std::to_string(i);
    boc.push_back(s.dim(p + ".resnets.0.conv1.weight", 0));
    down.push_back(s.has(p + ".attentions.0.proj_in.weight") ? "CrossAttnDownBlock2D" : "DownBlock2D");
    up.push_back(s.has("up_blocks." + std::to_string(i) + ".attentions.0.proj_in.weight") ? "CrossAttnUpBlock2D"
                                                                                         : "UpBlock2D");
  }
  set("block_out_channels", boc);
  set("down_block_types", down);
  set("up_block_types", up);
  set("layers_per_block", layers);
  set("in_channels", s.dim("conv_in.weight", 1));
  set("out_channels", s.dim("conv_out.weight", 0));
  set("conv_in_kernel", s.dim("conv_in.weight", 2));
  set("conv_out_kernel", s.dim("conv_out.weight", 2));
  const int64_t temb = s.dim("time_embedding.linear_1.weight", 0);
  set("time_embedding_dim", temb == 4 * boc[0].get<int64_t>() ? json() : json(temb));
  set("mid_block_type", s.has("mid_block.attentions.0.proj_in.weight") ? "UNetMidBlock2DCrossAttn" : "UNetMidBlock2D");
  // The first attention block tells context width, projection kind and depth.
  std::string attn = "mid_block.attentions.0";
  for (int64_t i = 0; i < nb; ++i)
    if (down[size_t(i)] == "CrossAttnDownBlock2D") {
      attn = "down_blocks." + std::to_string(i) + ".attentions.0";
      break;
    }
  if (s.has(attn + ".proj_in.weight")) {
    set("cross_attention_dim", s.dim(attn + ".transformer_blocks.0.attn2.to_k.weight", 1));
    set("use_linear_projection", s.ndim(attn + ".proj_in.weight") == 2);
    set("transformer_layers_per_block", s.count(attn + ".transformer_blocks.", ".norm1.weight"));
  }
  return r;
}

InferredConfig infer_vae_config(const Weights& vae) {
  const Shapes s{vae};
  InferredConfig r{sd15_vae_config(), {}};
  auto set = [&](const std::string& key, json v) {
    r.config[key] = std::move(v);
    r.inferred.insert(key);
  };
  const int64_t nb = s.count("encoder.down_blocks.", ".resnets.0.conv1.weight");
  if (nb == 0)
    throw Error("vae: no encoder blocks found (looked for 'encoder.down_blocks.0.resnets.0.conv1.weight' in " + vae.source() + ")");
  json boc = json::array();
  for (int64_t i = 0; i < nb; ++i) boc.push_back(s.dim("encoder.down_blocks." + std::to_string(i) + ".resnets.0.conv1.weight", 0));
  set("block_out_channels", boc);
  set("down_block_types", json::array());
  set("up_block_types", json::array());
  for (int64_t i = 0; i < nb; ++i) {
    r.config["down_block_types"].push_back("DownEncoderBlock2D");
    r.config["up_block_types"].push_back("UpDecoderBlock2D");
  }
  set("layers_per_block", s.count("encoder.down_blocks.0.resnets.", ".conv1.weight"));
  set("in_channels", s.dim("encoder.conv_in.weight", 1));
  set("out_channels", s.dim("decoder.conv_out.weight", 0));
  set("latent_channels", s.dim("decoder.conv_in.weight", 1));
  set("use_quant_conv", s.has("quant_conv.weight"));
  set("use_post_quant_conv", s.has("post_quant_conv.weight"));
  set("mid_block_add_attention", s.has("encoder.mid_block.attentions.0.to_q.weight"));
  return r;
}

InferredConfig infer_text_encoder_config(const Weights& te) {
  const Shapes s{te};
  InferredConfig r{sd15_text_encoder_config(), {}};
  auto set = [&](const std::string& key, json v) {
    r.config[key] = std::move(v);
    r.inferred.insert(key);
  };
  const int64_t hidden = s.dim("text_model.embeddings.token_embedding.weight", 1);
  set("vocab_size", s.dim("text_model.embeddings.token_embedding.weight", 0));
  set("hidden_size", hidden);
  set("max_position_embeddings", s.dim("text_model.embeddings.position_embedding.weight", 0));
  set("num_hidden_layers", s.count("text_model.encoder.layers.", ".mlp.fc1.weight"));
  set("intermediate_size", s.dim("text_model.encoder.layers.0.mlp.fc1.weight", 0));
  // Not in the shapes: CLIP ViT-L/14 (SD 1.x) uses heads of width 64.
  r.config["num_attention_heads"] = std::max<int64_t>(1, (hidden + 32) / 64);
  r.config["projection_dim"] = hidden;
  return r;
}

void apply_sd2_defaults(InferredConfig& unet, InferredConfig& text_encoder) {
  json& t = text_encoder.config;
  t["hidden_act"] = "gelu";
  // OpenCLIP ViT-H/14 has 24 layers; SD 2 conditions on the penultimate one, so its config keeps 23.
  t["num_hidden_layers"] = std::min<int64_t>(t["num_hidden_layers"].get<int64_t>(), 23);
  json& u = unet.config;
  json heads = json::array();
  for (const auto& ch : u["block_out_channels"]) heads.push_back(std::max<int64_t>(1, ch.get<int64_t>() / 64));
  u["attention_head_dim"] = heads;  // [5, 10, 20, 20] for SD 2's [320, 640, 1280, 1280]
  u["upcast_attention"] = true;     // SD 2.1's value (2.0 has false); no effect in f32
  u["sample_size"] = 96;
}

InferredConfig infer_sdxl_text_encoder_2_config(const Weights& text_encoder_2) {
  InferredConfig r = infer_text_encoder_config(text_encoder_2);
  json& t = r.config;
  // OpenCLIP ViT-bigG/14 as transformers' CLIPTextModelWithProjection (SDXL base's text_encoder_2 config).
  t["architectures"] = json::array({"CLIPTextModelWithProjection"});
  t["hidden_act"] = "gelu";
  t["num_attention_heads"] = std::max<int64_t>(1, t["hidden_size"].get<int64_t>() / 64);
  t["projection_dim"] = Shapes{text_encoder_2}.dim("text_projection.weight", 0);
  r.inferred.insert("projection_dim");
  return r;
}

void apply_sdxl_defaults(InferredConfig& unet, const Weights& unet_weights, const InferredConfig& text_encoder_2) {
  const Shapes s{unet_weights};
  json& u = unet.config;
  auto set = [&](const std::string& key, json v) {
    u[key] = std::move(v);
    unet.inferred.insert(key);
  };
  // Transformer depth per block (SDXL base: [1, 2, 10]; 1 where a block has no attention, as its config).
  json depth = json::array(), heads = json::array();
  for (size_t i = 0; i < u["block_out_channels"].size(); ++i) {
    const std::string attn = "down_blocks." + std::to_string(i) + ".attentions.0.transformer_blocks.";
    depth.push_back(std::max<int64_t>(1, s.count(attn, ".norm1.weight")));
    heads.push_back(std::max<int64_t>(1, u["block_out_channels"][i].get<int64_t>() / 64));
  }
  set("transformer_layers_per_block", depth);
  u["attention_head_dim"] = heads;  // SDXL's heads of width 64: [5, 10, 20] for [320, 640, 1280]
  set("addition_embed_type", "text_time");
  const int64_t input = s.dim("add_embedding.linear_1.weight", 1);
  const int64_t pooled = text_encoder_2.config["projection_dim"].get<int64_t>();
  check((input - pooled) > 0 && (input - pooled) % 6 == 0,
        "unet: add_embedding.linear_1.weight takes " + std::to_string(input) + " inputs, not 6 time ids x N + the "
        "second text encoder's projection " + std::to_string(pooled) + " (" + unet_weights.source() + ")");
  set("projection_class_embeddings_input_dim", input);
  set("addition_time_embed_dim", (input - pooled) / 6);
  u["sample_size"] = 128;
  u["upcast_attention"] = false;
}

}  // namespace sdwalk::io
