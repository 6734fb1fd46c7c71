#include "io/lora_sgm_names.hpp"

#include <cstdlib>
#include <optional>
#include <utility>

#include "io/ldm_names.hpp"
#include "io/model_loading.hpp"

namespace sdwalk::io {
namespace {

using ldm_names::starts_with;

std::string underscored(std::string s) {
  for (char& c : s)
    if (c == '.') c = '_';
  return s;
}

// "12_rest" -> (12, "rest"), "12" -> (12, "").
std::optional<std::pair<int, std::string>> split_number(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && i < 6 && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0 || (i < s.size() && s[i] != '_')) return std::nullopt;
  return std::make_pair(std::atoi(s.substr(0, i).c_str()), i < s.size() ? s.substr(i + 1) : std::string());
}

int layers_per_block(const Weights& unet) {
  int n = 0;
  while (unet.contains("down_blocks.0.resnets." + std::to_string(n) + ".conv1.weight")) ++n;
  return n;
}

// The module of LDM weight key `key` ("input_blocks.1.0.in_layers.2.weight"), underscored; "" if none.
std::string module_of(const std::string& key, int L) {
  const std::string name = ldm_unet_name(key, L);
  const std::string weight = ".weight";
  if (name.size() <= weight.size() || name.compare(name.size() - weight.size(), weight.size(), weight) != 0) return "";
  return underscored(name.substr(0, name.size() - weight.size()));
}

}  // namespace

std::string sgm_lora_module(const std::string& m, const Weights& unet) {
  const int L = layers_per_block(unet);
  if (L == 0) return "";
  std::string block, rest;  // the block's LDM prefix ("input_blocks.4.1."), the rest of the name
  auto two_indices = [&](const std::string& head) {
    if (!starts_with(m, head + "_")) return false;
    const auto a = split_number(m.substr(head.size() + 1));
    if (!a) return false;
    const auto b = split_number(a->second);
    if (!b) return false;
    block = head + "." + std::to_string(a->first) + "." + std::to_string(b->first) + ".";
    rest = b->second;
    return true;
  };
  if (starts_with(m, "middle_block_")) {
    const auto a = split_number(m.substr(13));
    if (!a) return "";
    block = "middle_block." + std::to_string(a->first) + ".";
    rest = a->second;
  } else if (!two_indices("input_blocks") && !two_indices("output_blocks")) {
    for (const std::string ldm : {"time_embed.0", "time_embed.2", "label_emb.0.0", "label_emb.0.2", "out.0", "out.2"})
      if (m == underscored(ldm)) return module_of(ldm + ".weight", L);
    return "";
  }
  if (rest.empty()) return module_of(block + "weight", L);  // input_blocks_0_0: conv_in
  for (const auto& [ldm, diffusers] : ldm_names::kUnetResnetParts) {
    const std::string part(ldm);
    if (rest == underscored(part.substr(0, part.size() - 1))) return module_of(block + part + "weight", L);
  }
  if (rest == "op" || rest == "conv") return module_of(block + rest + ".weight", L);
  // Inside an attention block (Transformer2DModel) kohya keeps diffusers' names.
  const std::string inner = ldm_unet_name(block + "x", L);
  if (inner.size() < 2 || inner.compare(inner.size() - 2, 2, ".x") != 0) return "";
  return underscored(inner.substr(0, inner.size() - 1)) + rest;
}

}  // namespace sdwalk::io
