// Writes a diffusers SD 1.x folder (as write_random_checkpoint makes) as one original-LDM single-file
// checkpoint (model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.*), the
// layout stable-diffusion.cpp reads, for bench/side_by_side_sdcpp.sh; an SDXL folder (text_encoder_2/)
// as Stability's sgm single file, what diffusers' convert_diffusers_to_original_sdxl.py writes: the
// UNet's add_embedding as label_emb.0.0/.0.2, conditioner.embedders.0.transformer.* (CLIP-L as is),
// conditioner.embedders.1.model.* (the second encoder in OpenCLIP's names: q/k/v stacked into
// in_proj, text_projection transposed). Tensors keep their dtype; the VAE's mid-block attention
// weights become 1x1 convs [C, C, 1, 1] as in the original. Weights are read from the plain files or
// the fp16 variant files. Every name is checked by mapping it back with sdwalk's own LDM reader
// (io/ldm_checkpoint.cpp), the whole file too. Output is never committed.
//   write_ldm_checkpoint DIFFUSERS_DIR OUT.safetensors
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "io/ldm_names.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/safetensors.hpp"

namespace {

using namespace sdwalk;
namespace fs = std::filesystem;

using io::ldm_names::starts_with;

// "prefix.N.rest" -> (N, "rest") when `s` starts with `prefix`.
std::optional<std::pair<int, std::string>> indexed(const std::string& s, const std::string& prefix) {
  if (!starts_with(s, prefix)) return std::nullopt;
  return io::ldm_names::split_index(s.substr(prefix.size()));
}

// The first pair (diffusers prefix, LDM prefix) that starts `s`, its prefix replaced; "" when none matches.
std::string swap_prefix(const std::string& s, const io::ldm_names::RenameTable& table) {
  return io::ldm_names::rename_prefix(s, table);
}

// The reader's tables, read backwards.
std::string unet_resnet(const std::string& rest) {
  return io::ldm_names::rename_prefix(rest, io::ldm_names::kUnetResnetParts, /*to_ldm=*/true);
}
std::string vae_resnet(const std::string& rest) {
  return io::ldm_names::rename_prefix(rest, io::ldm_names::kVaeResnetParts, /*to_ldm=*/true);
}

struct UnetLayout {
  int L = 0;                        // layers per block (resnets per down block)
  std::map<int, bool> up_has_attn;  // up block index -> has attentions (its upsampler moves to .2)
};

std::string join(const std::string& a, const std::string& b) { return b.empty() ? "" : a + b; }

// diffusers UNet2DConditionModel name -> openaimodel.UNetModel key (without model.diffusion_model.).
std::string unet_key(const std::string& n, const UnetLayout& u) {
  const int L = u.L;
  if (auto r = io::ldm_names::rename_prefix(n, io::ldm_names::kUnetLabelEmbedding, /*to_ldm=*/true); !r.empty())
    return r;  // SDXL
  if (auto r = swap_prefix(n, {{"conv_in.", "input_blocks.0.0."},
                               {"time_embedding.linear_1.", "time_embed.0."},
                               {"time_embedding.linear_2.", "time_embed.2."},
                               {"conv_norm_out.", "out.0."},
                               {"conv_out.", "out.2."}});
      !r.empty())
    return r;
  if (auto d = indexed(n, "down_blocks.")) {
    const int i = d->first;
    if (auto j = indexed(d->second, "resnets."))
      return join("input_blocks." + std::to_string(1 + i * (L + 1) + j->first) + ".0.", unet_resnet(j->second));
    if (auto j = indexed(d->second, "attentions."))
      return "input_blocks." + std::to_string(1 + i * (L + 1) + j->first) + ".1." + j->second;
    if (starts_with(d->second, "downsamplers.0.conv."))
      return "input_blocks." + std::to_string((i + 1) * (L + 1)) + ".0.op." + d->second.substr(20);
    return "";
  }
  if (auto j = indexed(n, "mid_block.resnets."))
    return j->first > 1 ? "" : join("middle_block." + std::to_string(2 * j->first) + ".", unet_resnet(j->second));
  if (auto j = indexed(n, "mid_block.attentions."))
    return j->first != 0 ? "" : "middle_block.1." + j->second;
  if (auto d = indexed(n, "up_blocks.")) {
    const int i = d->first;
    if (auto j = indexed(d->second, "resnets."))
      return join("output_blocks." + std::to_string(i * (L + 1) + j->first) + ".0.", unet_resnet(j->second));
    if (auto j = indexed(d->second, "attentions."))
      return "output_blocks." + std::to_string(i * (L + 1) + j->first) + ".1." + j->second;
    if (starts_with(d->second, "upsamplers.0.conv.")) {
      const bool attn = u.up_has_attn.count(i) && u.up_has_attn.at(i);
      return "output_blocks." + std::to_string(i * (L + 1) + L) + (attn ? ".2.conv." : ".1.conv.") +
             d->second.substr(18);
    }
    return "";
  }
  return "";
}

// diffusers AutoencoderKL name -> ldm AutoencoderKL key (without first_stage_model.).
std::string vae_key(const std::string& n, int num_up) {
  if (auto r = swap_prefix(n, {{"quant_conv.", "quant_conv."},
                               {"post_quant_conv.", "post_quant_conv."},
                               {"encoder.conv_in.", "encoder.conv_in."},
                               {"encoder.conv_out.", "encoder.conv_out."},
                               {"encoder.conv_norm_out.", "encoder.norm_out."},
                               {"decoder.conv_in.", "decoder.conv_in."},
                               {"decoder.conv_out.", "decoder.conv_out."},
                               {"decoder.conv_norm_out.", "decoder.norm_out."}});
      !r.empty())
    return r;
  for (const std::string side : {"encoder.", "decoder."}) {
    if (!starts_with(n, side)) continue;
    const std::string rest = n.substr(side.size());
    if (auto b = indexed(rest, "mid_block.resnets."))
      return b->first > 1 ? "" : join(side + "mid.block_" + std::to_string(b->first + 1) + ".", vae_resnet(b->second));
    if (starts_with(rest, "mid_block.attentions.0."))
      return join(side + "mid.attn_1.", swap_prefix(rest.substr(23), {{"group_norm.", "norm."},
                                                                      {"to_q.", "q."},
                                                                      {"to_k.", "k."},
                                                                      {"to_v.", "v."},
                                                                      {"to_out.0.", "proj_out."}}));
    const bool enc = side == "encoder.";
    auto d = indexed(rest, enc ? "down_blocks." : "up_blocks.");
    if (!d) return "";
    const std::string p = side + (enc ? "down." : "up.") + std::to_string(enc ? d->first : num_up - 1 - d->first);
    if (auto j = indexed(d->second, "resnets."))
      return join(p + ".block." + std::to_string(j->first) + ".", vae_resnet(j->second));
    const std::string sampler = enc ? "downsamplers.0.conv." : "upsamplers.0.conv.";
    if (starts_with(d->second, sampler))
      return p + (enc ? ".downsample.conv." : ".upsample.conv.") + d->second.substr(sampler.size());
    return "";
  }
  return "";
}

// <network>/<stem>.safetensors, or the fp16 variant <stem>.fp16.safetensors.
SafeTensors open_network(const fs::path& dir, const std::string& network, const std::string& stem) {
  for (const std::string& file : {stem + ".safetensors", stem + ".fp16.safetensors"})
    if (fs::is_regular_file(dir / network / file)) return SafeTensors::open(dir / network / file);
  throw Error(dir.string() + ": no " + network + "/" + stem + ".safetensors (expected a diffusers SD 1.x or SDXL "
                                                                "folder, as write_random_checkpoint writes)");
}

// SDXL's second text encoder (transformers' CLIPTextModelWithProjection) in OpenCLIP's names, under
// conditioner.embedders.1.model., as diffusers' convert_openclip_text_enc_state_dict.
void add_open_clip(const SafeTensors& text, std::map<std::string, Tensor>& tensors) {
  const std::string prefix = io::ldm_names::kSdxlOpenClip, layers = "text_model.encoder.layers.";
  std::map<std::string, std::map<std::string, Tensor>> qkv;  // "N.weight" -> q/k/v
  for (const auto& n : text.names()) {
    std::string key;
    if (n == "text_model.embeddings.token_embedding.weight") key = "token_embedding.weight";
    else if (n == "text_model.embeddings.position_embedding.weight") key = "positional_embedding";
    else if (starts_with(n, "text_model.final_layer_norm.")) key = "ln_final." + n.substr(28);
    else if (n == "text_projection.weight") {
      tensors.emplace(prefix + "text_projection", io::transposed_2d(text.get(n)));
      continue;
    } else if (auto l = indexed(n, layers)) {
      const std::string layer = "transformer.resblocks." + std::to_string(l->first) + ".";
      bool projection = false;
      for (const char* p : {"q", "k", "v"})
        for (const char* part : {"weight", "bias"})
          if (l->second == std::string("self_attn.") + p + "_proj." + part) {
            qkv[layer + "attn.in_proj_" + part][p] = text.get(n);
            projection = true;
          }
      if (projection) continue;
      const std::string r = io::ldm_names::rename_prefix(l->second, io::ldm_names::kOpenClipLayerParts, true);
      if (!r.empty()) key = layer + r;
    }
    check(!key.empty(), text.label() + ": tensor '" + n + "' has no OpenCLIP counterpart");
    tensors.emplace(prefix + key, text.get(n));
  }
  for (auto& [key, parts] : qkv) {
    check(parts.size() == 3, text.label() + ": '" + key + "' lacks one of the q/k/v projections");
    tensors.emplace(prefix + key, cat0({parts.at("q"), parts.at("k"), parts.at("v")}));  // OpenCLIP's in_proj
  }
}

// The written file read back by sdwalk's own reader: every network gives back exactly its source's names.
void check_reads_back(const fs::path& out, const std::map<std::string, const SafeTensors*>& sources) {
  const io::LdmNetworks nets = io::map_ldm_checkpoint(SafeTensors::open(out));
  const std::map<std::string, const Weights*> read{
      {"unet", &nets.unet}, {"vae", &nets.vae}, {"text_encoder", &nets.text_encoder}, {"text_encoder_2", &nets.text_encoder_2}};
  for (const auto& [network, source] : sources) {
    std::vector<std::string> want;
    for (const auto& n : source->names())
      if (n.size() < 12 || n.compare(n.size() - 12, 12, "position_ids") != 0) want.push_back(n);
    std::sort(want.begin(), want.end());
    std::vector<std::string> got = read.at(network)->names();
    std::sort(got.begin(), got.end());
    check(got == want, "internal: " + network + " does not read back with the same names (" + std::to_string(got.size()) +
                           " tensors, " + std::to_string(want.size()) + " expected)");
  }
}

int run(int argc, char** argv) {
  check(argc == 3, "usage: write_ldm_checkpoint DIFFUSERS_DIR OUT.safetensors");
  const fs::path dir = argv[1], out = argv[2];
  check(fs::is_directory(dir), dir.string() + ": not a folder (expected a diffusers SD 1.x folder)");
  const SafeTensors unet = open_network(dir, "unet", "diffusion_pytorch_model");
  const SafeTensors vae = open_network(dir, "vae", "diffusion_pytorch_model");
  const SafeTensors text = open_network(dir, "text_encoder", "model");
  const bool sdxl = fs::is_directory(dir / "text_encoder_2");

  UnetLayout u;
  int num_up = 0;
  for (const auto& n : unet.names()) {
    if (auto d = indexed(n, "down_blocks."))
      if (auto j = indexed(d->second, "resnets.")) u.L = std::max(u.L, j->first + 1);
    if (auto d = indexed(n, "up_blocks.")) u.up_has_attn[d->first] |= starts_with(d->second, "attentions.");
  }
  for (const auto& n : vae.names())
    if (auto d = indexed(n, "decoder.up_blocks.")) num_up = std::max(num_up, d->first + 1);
  check(u.L > 0, unet.label() + ": no down_blocks.N.resnets.M.* tensors (not an SD 1.x UNet)");
  check(num_up > 0, vae.label() + ": no decoder.up_blocks.N.* tensors (not an SD 1.x VAE)");

  std::map<std::string, Tensor> tensors;
  auto add = [&](const std::string& key, const Tensor& t, const std::string& from) {
    check(tensors.emplace(key, t).second, from + ": two tensors map to '" + key + "'");
  };
  for (const auto& n : unet.names()) {
    const std::string k = unet_key(n, u);
    check(!k.empty(), unet.label() + ": tensor '" + n + "' has no LDM counterpart");
    check(io::ldm_unet_name(k, u.L) == n, "internal: UNet '" + n + "' -> '" + k + "' does not map back");
    add("model.diffusion_model." + k, unet.get(n), unet.label());
  }
  for (const auto& n : vae.names()) {
    const std::string k = vae_key(n, num_up);
    check(!k.empty(), vae.label() + ": tensor '" + n + "' has no LDM counterpart");
    check(io::ldm_vae_name(k, num_up) == n, "internal: VAE '" + n + "' -> '" + k + "' does not map back");
    Tensor t = vae.get(n);
    // The original's attention is 1x1 convs; diffusers' are Linear layers.
    const bool attn_weight = k.find(".mid.attn_1.") != std::string::npos && k.find("norm.") == std::string::npos &&
                             k.size() > 7 && k.compare(k.size() - 7, 7, ".weight") == 0;
    if (attn_weight && t.ndim() == 2) t = t.reshape({t.dim(0), t.dim(1), 1, 1});
    add("first_stage_model." + k, t, vae.label());
  }
  const std::string text_prefix = sdxl ? io::ldm_names::kSdxlTextEncoder : "cond_stage_model.transformer.";
  for (const auto& n : text.names()) {
    check(starts_with(n, "text_model."), text.label() + ": tensor '" + n + "' is not under text_model. (CLIPTextModel)");
    add(text_prefix + n, text.get(n), text.label());
  }
  std::map<std::string, const SafeTensors*> sources{{"unet", &unet}, {"vae", &vae}, {"text_encoder", &text}};
  std::optional<SafeTensors> text_2;
  if (sdxl) {
    text_2.emplace(open_network(dir, "text_encoder_2", "model"));
    add_open_clip(*text_2, tensors);
    sources["text_encoder_2"] = &*text_2;
  }
  save_safetensors(out, tensors, {{"format", "pt"}});
  check_reads_back(out, sources);
  std::printf("%s: %zu tensors (UNet %zu, VAE %zu, text encoder %zu%s), %s layout\n", out.c_str(), tensors.size(),
              unet.names().size(), vae.names().size(), text.names().size(),
              sdxl ? (", text encoder 2 " + std::to_string(text_2->names().size())).c_str() : "",
              sdxl ? "SDXL sgm" : "LDM");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_ldm_checkpoint: %s\n", e.what());
    return 1;
  }
}
