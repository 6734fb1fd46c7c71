// Writes a diffusers SD 1.x folder (as write_random_checkpoint makes) as one original-LDM single-file
// checkpoint (model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.*), the
// layout stable-diffusion.cpp reads, for bench/side_by_side_sdcpp.sh. Tensors keep their dtype; the
// VAE's mid-block attention weights become 1x1 convs [C, C, 1, 1] as in the original. Every name is
// checked by mapping it back with sdwalk's own LDM reader (io/ldm_checkpoint.cpp). Output is never
// committed.
//   write_ldm_checkpoint DIFFUSERS_DIR OUT.safetensors
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

SafeTensors open_network(const fs::path& dir, const std::string& network, const std::string& file) {
  const fs::path path = dir / network / file;
  check(fs::is_regular_file(path), dir.string() + ": no " + network + "/" + file +
                                       " (expected a diffusers SD 1.x folder, as write_random_checkpoint writes)");
  return SafeTensors::open(path);
}

int run(int argc, char** argv) {
  check(argc == 3, "usage: write_ldm_checkpoint DIFFUSERS_DIR OUT.safetensors");
  const fs::path dir = argv[1], out = argv[2];
  check(fs::is_directory(dir), dir.string() + ": not a folder (expected a diffusers SD 1.x folder)");
  const SafeTensors unet = open_network(dir, "unet", "diffusion_pytorch_model.safetensors");
  const SafeTensors vae = open_network(dir, "vae", "diffusion_pytorch_model.safetensors");
  const SafeTensors text = open_network(dir, "text_encoder", "model.safetensors");

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
  for (const auto& n : text.names()) {
    check(starts_with(n, "text_model."), text.label() + ": tensor '" + n + "' is not under text_model. (CLIPTextModel)");
    add("cond_stage_model.transformer." + n, text.get(n), text.label());
  }
  save_safetensors(out, tensors, {{"format", "pt"}});
  std::printf("%s: %zu tensors (UNet %zu, VAE %zu, text encoder %zu), LDM layout\n", out.c_str(), tensors.size(),
              unet.names().size(), vae.names().size(), text.names().size());
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
