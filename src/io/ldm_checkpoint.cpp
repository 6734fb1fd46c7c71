// Original LDM / CompVis single-file checkpoints: the key names of the original `ldm` modules mapped
// to diffusers' names, the inverse of diffusers' convert_diffusers_to_original_stable_diffusion.py.
//
// UNet (openaimodel.UNetModel) with n blocks of L layers each:
//   input_blocks.0.0                      -> conv_in
//   input_blocks.(1 + i(L+1) + j).0 / .1  -> down_blocks.i.resnets.j / .attentions.j   (j < L)
//   input_blocks.((i+1)(L+1)).0.op        -> down_blocks.i.downsamplers.0.conv
//   middle_block.0 / .1 / .2              -> mid_block.resnets.0 / .attentions.0 / .resnets.1
//   output_blocks.(i(L+1) + j).0 / .1     -> up_blocks.i.resnets.j / .attentions.j     (j <= L)
//   output_blocks.(i(L+1) + L).{1,2}.conv -> up_blocks.i.upsamplers.0.conv (after the attention, if any)
//   time_embed.0 / .2, out.0 / .2         -> time_embedding.linear_1 / _2, conv_norm_out / conv_out
//   resnet parts: in_layers.0 norm1, in_layers.2 conv1, emb_layers.1 time_emb_proj,
//                 out_layers.0 norm2, out_layers.3 conv2, skip_connection conv_shortcut
//   attention parts (norm, proj_in, transformer_blocks.*, proj_out) keep their names.
// VAE (first_stage_model): encoder.down.i.block.j -> encoder.down_blocks.i.resnets.j, decoder.up.i ->
//   decoder.up_blocks.(n-1-i) (the original counts decoder levels bottom-up), mid.block_1/2 ->
//   mid_block.resnets.0/1, mid.attn_1.{norm,q,k,v,proj_out} -> mid_block.attentions.0.{group_norm,
//   to_q,to_k,to_v,to_out.0} (1x1 conv weights [C,C,1,1] become Linear weights [C,C]),
//   nin_shortcut -> conv_shortcut, norm_out -> conv_norm_out.
// Text encoder: cond_stage_model.transformer.* is transformers' CLIPTextModel under text_model.*
// (SD 1.x); cond_stage_model.model.* is OpenCLIP's (SD 2.x, open_clip_checkpoint.cpp).
// SDXL base (Stability's sgm layout): conditioner.embedders.0.transformer.* is CLIP-L (text_encoder),
// conditioner.embedders.1.model.* OpenCLIP ViT-bigG (text_encoder_2, with text_projection), and the
// UNet's label_emb.0.0 / .0.2 are add_embedding.linear_1 / _2 (the text_time embedding).
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "io/ldm_names.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {

namespace ldm_names {

std::optional<std::pair<int, std::string>> split_index(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && i < 6 && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || i >= s.size() || s[i] != '.') return std::nullopt;
  return std::make_pair(std::atoi(s.substr(0, i).c_str()), s.substr(i + 1));
}

std::string rename_prefix(const std::string& s, const RenameTable& table, bool to_ldm) {
  for (const auto& [ldm, diffusers] : table) {
    const std::string from = to_ldm ? diffusers : ldm;
    if (starts_with(s, from)) return (to_ldm ? ldm : diffusers) + s.substr(from.size());
  }
  return "";
}

const RenameTable kUnetResnetParts = {{"in_layers.0.", "norm1."},      {"in_layers.2.", "conv1."},
                                      {"emb_layers.1.", "time_emb_proj."}, {"out_layers.0.", "norm2."},
                                      {"out_layers.3.", "conv2."},     {"skip_connection.", "conv_shortcut."}};
const RenameTable kVaeResnetParts = {{"norm1.", "norm1."}, {"conv1.", "conv1."},
                                     {"norm2.", "norm2."}, {"conv2.", "conv2."},
                                     {"nin_shortcut.", "conv_shortcut."}};
const RenameTable kUnetLabelEmbedding = {{"label_emb.0.0.", "add_embedding.linear_1."},
                                         {"label_emb.0.2.", "add_embedding.linear_2."}};
const RenameTable kOpenClipLayerParts = {{"ln_1.", "layer_norm1."},
                                         {"ln_2.", "layer_norm2."},
                                         {"attn.out_proj.", "self_attn.out_proj."},
                                         {"mlp.c_fc.", "mlp.fc1."},
                                         {"mlp.c_proj.", "mlp.fc2."}};

}  // namespace ldm_names

namespace {

using ldm_names::kUnetResnetParts;
using ldm_names::kVaeResnetParts;
using ldm_names::rename_prefix;
using ldm_names::split_index;
using ldm_names::starts_with;

const std::string kUnet = "model.diffusion_model.";
const std::string kVae = "first_stage_model.";
const std::string kText = "cond_stage_model.transformer.";
const std::string kOpenClip = "cond_stage_model.model.";

std::string unet_resnet(const std::string& rest) { return rename_prefix(rest, kUnetResnetParts); }
std::string vae_resnet(const std::string& rest) { return rename_prefix(rest, kVaeResnetParts); }

std::string vae_mid(const std::string& rest) {  // after "encoder.mid." / "decoder.mid."
  const char* blocks[2] = {"block_1.", "block_2."};
  for (int b = 0; b < 2; ++b)
    if (starts_with(rest, blocks[b])) {
      const std::string r = vae_resnet(rest.substr(8));
      return r.empty() ? "" : "mid_block.resnets." + std::to_string(b) + "." + r;
    }
  const std::string r = rename_prefix(rest, {{"attn_1.norm.", "group_norm."},
                                             {"attn_1.q.", "to_q."},
                                             {"attn_1.k.", "to_k."},
                                             {"attn_1.v.", "to_v."},
                                             {"attn_1.proj_out.", "to_out.0."}});
  return r.empty() ? "" : "mid_block.attentions.0." + r;
}

// Layers per block of the UNet: the first downsampler sits at input_blocks.(L+1).0.op.
int unet_layers_per_block(const std::vector<std::string>& unet_keys, const std::string& label) {
  int first_op = -1, max_input = 0;
  for (const auto& k : unet_keys) {
    if (!starts_with(k, "input_blocks.")) continue;
    auto s = split_index(k.substr(13));
    if (!s) continue;
    max_input = std::max(max_input, s->first);
    if (starts_with(s->second, "0.op.") && (first_op < 0 || s->first < first_op)) first_op = s->first;
  }
  const int L = first_op > 0 ? first_op - 1 : max_input;
  if (L <= 0)
    throw Error(label + ": cannot find the UNet's blocks (expected model.diffusion_model.input_blocks.N.* with a "
                        "downsampler input_blocks.N.0.op)");
  return L;
}

bool is_vae_attention_weight(const std::string& name) {
  return name.find("mid_block.attentions.0.to_") != std::string::npos && name.size() > 7 &&
         name.compare(name.size() - 7, 7, ".weight") == 0;
}

[[noreturn]] void unsupported(const std::string& label, const std::string& what) {
  throw Error(label + ": " + what + "; sdwalk reads Stable Diffusion 1.x, 2.x and SDXL base checkpoints only");
}

}  // namespace

std::string ldm_unet_name(const std::string& key, int L) {
  if (auto r = rename_prefix(key, {{"time_embed.0.", "time_embedding.linear_1."},
                                   {"time_embed.2.", "time_embedding.linear_2."},
                                   {"out.0.", "conv_norm_out."},
                                   {"out.2.", "conv_out."},
                                   {"input_blocks.0.0.", "conv_in."}});
      !r.empty())
    return r;
  if (auto r = rename_prefix(key, ldm_names::kUnetLabelEmbedding); !r.empty()) return r;  // SDXL
  if (starts_with(key, "input_blocks.")) {
    auto k = split_index(key.substr(13));
    if (!k || k->first == 0) return "";
    auto sub = split_index(k->second);
    if (!sub) return "";
    const int i = (k->first - 1) / (L + 1), j = (k->first - 1) % (L + 1);
    const std::string p = "down_blocks." + std::to_string(i);
    if (j == L) {
      auto r = rename_prefix(k->second, {{"0.op.", ".downsamplers.0.conv."}});
      return r.empty() ? "" : p + r;
    }
    if (sub->first == 0) {
      auto r = unet_resnet(sub->second);
      return r.empty() ? "" : p + ".resnets." + std::to_string(j) + "." + r;
    }
    if (sub->first == 1) return p + ".attentions." + std::to_string(j) + "." + sub->second;
    return "";
  }
  if (starts_with(key, "middle_block.")) {
    auto sub = split_index(key.substr(13));
    if (!sub) return "";
    if (sub->first == 1) return "mid_block.attentions.0." + sub->second;
    if (sub->first != 0 && sub->first != 2) return "";
    auto r = unet_resnet(sub->second);
    return r.empty() ? "" : "mid_block.resnets." + std::to_string(sub->first / 2) + "." + r;
  }
  if (starts_with(key, "output_blocks.")) {
    auto k = split_index(key.substr(14));
    if (!k) return "";
    auto sub = split_index(k->second);
    if (!sub) return "";
    const int i = k->first / (L + 1), j = k->first % (L + 1);
    const std::string p = "up_blocks." + std::to_string(i);
    if (sub->first == 0) {
      auto r = unet_resnet(sub->second);
      return r.empty() ? "" : p + ".resnets." + std::to_string(j) + "." + r;
    }
    if (starts_with(sub->second, "conv.")) return j == L ? p + ".upsamplers.0." + sub->second : "";
    if (sub->first == 1) return p + ".attentions." + std::to_string(j) + "." + sub->second;
    return "";
  }
  return "";
}

std::string ldm_vae_name(const std::string& key, int num_up) {
  if (auto r = rename_prefix(key, {{"quant_conv.", "quant_conv."},
                                   {"post_quant_conv.", "post_quant_conv."},
                                   {"encoder.conv_in.", "encoder.conv_in."},
                                   {"encoder.conv_out.", "encoder.conv_out."},
                                   {"encoder.norm_out.", "encoder.conv_norm_out."},
                                   {"decoder.conv_in.", "decoder.conv_in."},
                                   {"decoder.conv_out.", "decoder.conv_out."},
                                   {"decoder.norm_out.", "decoder.conv_norm_out."}});
      !r.empty())
    return r;
  for (const std::string side : {"encoder.", "decoder."}) {
    if (!starts_with(key, side)) continue;
    const std::string rest = key.substr(side.size());
    if (starts_with(rest, "mid.")) {
      const std::string r = vae_mid(rest.substr(4));
      return r.empty() ? "" : side + r;
    }
    const bool enc = side == "encoder.";
    const std::string level = enc ? "down." : "up.";
    if (!starts_with(rest, level)) return "";
    auto k = split_index(rest.substr(level.size()));
    if (!k) return "";
    const int i = enc ? k->first : num_up - 1 - k->first;
    if (i < 0) return "";
    const std::string p = side + (enc ? "down_blocks." : "up_blocks.") + std::to_string(i);
    if (starts_with(k->second, "block.")) {
      auto sub = split_index(k->second.substr(6));
      if (!sub) return "";
      const std::string r = vae_resnet(sub->second);
      return r.empty() ? "" : p + ".resnets." + std::to_string(sub->first) + "." + r;
    }
    const std::string sampler = enc ? "downsample.conv." : "upsample.conv.";
    if (!starts_with(k->second, sampler)) return "";
    return p + (enc ? ".downsamplers.0.conv." : ".upsamplers.0.conv.") + k->second.substr(sampler.size());
  }
  return "";
}

LdmNetworks map_ldm_checkpoint(const SafeTensors& file) {
  const std::string& label = file.label();
  const std::string kSdxlText = ldm_names::kSdxlTextEncoder, kSdxlOpenClip = ldm_names::kSdxlOpenClip;
  std::vector<std::string> unet_keys, vae_keys, text_keys, open_clip_keys, sdxl_open_clip_keys;
  bool sdxl = false;
  for (const auto& k : file.names()) {
    if (starts_with(k, "conditioner.embedders.")) {
      sdxl = true;
      if (starts_with(k, kSdxlText)) text_keys.push_back(k.substr(kSdxlText.size()));
      else if (starts_with(k, kSdxlOpenClip)) sdxl_open_clip_keys.push_back(k.substr(kSdxlOpenClip.size()));
      else
        unsupported(label, "found '" + k + "', a conditioner other than SDXL base's (" + kSdxlText + "*, " +
                               kSdxlOpenClip + "*), e.g. the SDXL refiner's");
      continue;
    }
    if (starts_with(k, kVae + "loss.")) continue;  // the autoencoder's training loss (LPIPS, discriminator)
    if (starts_with(k, kUnet)) unet_keys.push_back(k.substr(kUnet.size()));
    else if (starts_with(k, kVae)) vae_keys.push_back(k.substr(kVae.size()));
    else if (starts_with(k, kText)) text_keys.push_back(k.substr(kText.size()));
    else if (starts_with(k, kOpenClip)) open_clip_keys.push_back(k.substr(kOpenClip.size()));
    // Everything else (model_ema.*, the DDPM schedule buffers, ...) is not needed for inference.
  }
  auto require = [&](const std::vector<std::string>& keys, const std::string& prefix, const std::string& what) {
    if (keys.empty())
      throw Error(label + ": no " + what + " tensors (looked for keys '" + prefix +
                  "*'); expected a full Stable Diffusion 1.x, 2.x or SDXL base checkpoint");
  };
  require(unet_keys, kUnet, "UNet");
  require(vae_keys, kVae, "VAE");
  const std::string text_prefix = sdxl ? kSdxlText : kText;
  if (sdxl) {
    if (!open_clip_keys.empty())
      throw Error(label + ": both SDXL (conditioner.embedders.*) and SD 2.x (" + kOpenClip + "*) text encoder keys");
    require(text_keys, kSdxlText, "first text encoder (CLIP ViT-L)");
    require(sdxl_open_clip_keys, kSdxlOpenClip, "second text encoder (OpenCLIP ViT-bigG)");
  } else {
    if (!text_keys.empty() && !open_clip_keys.empty())
      throw Error(label + ": both '" + kText + "*' and '" + kOpenClip + "*' text encoder keys; expected one text encoder");
    if (open_clip_keys.empty()) require(text_keys, kText, "text encoder");
  }

  LdmNetworks out{Weights("text_encoder", label + " (" + text_prefix + "*)"),
                  Weights("unet", label + " (" + kUnet + "*)"), Weights("vae", label + " (" + kVae + "*)")};
  auto untranslatable = [&](const std::string& key) {
    throw Error(label + ": tensor '" + key + "' has no counterpart in an SD 1.x/2.x/SDXL model (unknown LDM key)");
  };

  const int L = unet_layers_per_block(unet_keys, label);
  for (const auto& k : unet_keys) {
    const std::string name = ldm_unet_name(k, L);
    if (name.empty()) untranslatable(kUnet + k);
    out.unet.add(name, file.get(kUnet + k));
  }

  int num_up = 0;
  for (const auto& k : vae_keys)
    if (starts_with(k, "decoder.up."))
      if (auto s = split_index(k.substr(11))) num_up = std::max(num_up, s->first + 1);
  for (const auto& k : vae_keys) {
    const std::string name = ldm_vae_name(k, num_up);
    if (name.empty()) untranslatable(kVae + k);
    Tensor t = file.get(kVae + k);
    // The original attention uses 1x1 convs; diffusers' Attention has Linear layers.
    if (is_vae_attention_weight(name) && t.ndim() == 4 && t.dim(2) == 1 && t.dim(3) == 1)
      t = t.reshape({t.dim(0), t.dim(1)});
    out.vae.add(name, t);
  }

  if (!open_clip_keys.empty()) {
    out.text_encoder = map_open_clip_text_encoder(file, kOpenClip, open_clip_keys);
    out.open_clip = true;
  }
  if (sdxl) {
    out.sdxl = true;
    out.text_encoder_2 = map_open_clip_text_encoder(file, kSdxlOpenClip, sdxl_open_clip_keys, "text_encoder_2",
                                                    /*with_projection=*/true);
  }
  for (const auto& k : text_keys) {
    if (k.size() >= 12 && k.compare(k.size() - 12, 12, "position_ids") == 0) continue;  // a buffer, not a weight
    // Older transformers versions saved CLIPTextModel without the text_model. level.
    out.text_encoder.add(starts_with(k, "text_model.") ? k : "text_model." + k, file.get(text_prefix + k));
  }
  return out;
}

}  // namespace sdwalk::io
