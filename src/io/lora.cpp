// LoRA files: the --lora flag's text, the key layouts (kohya/A1111, diffusers/PEFT, diffusers' older
// attention-processor names) and their mapping onto a model's layers. SDXL: kohya's lora_te1_/lora_te2_
// (the two text encoders, transformers' names) and its UNet names, which for SDXL are the original sgm
// block names (lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q, middle_block_1_...,
// output_blocks_0_1_...; io/lora_sgm_names.cpp); diffusers' text_encoder_2.* keys.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "io/lora_sgm_names.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/lora.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace fs = std::filesystem;

LoraSpec parse_lora_spec(const std::string& text, const std::string& flag) {
  check(!text.empty(), flag + ": expected FILE[:SCALE], got an empty value");
  LoraSpec spec;
  const size_t colon = text.rfind(':');
  std::error_code ec;
  if (colon == std::string::npos || fs::exists(text, ec)) {
    spec.file = text;
    return spec;
  }
  spec.file = text.substr(0, colon);
  const std::string scale = text.substr(colon + 1);
  check(!spec.file.empty(), flag + " " + text + ": expected FILE[:SCALE], the file name is empty");
  char* end = nullptr;
  errno = 0;
  const double v = scale.empty() ? NAN : std::strtod(scale.c_str(), &end);
  check(!scale.empty() && end == scale.c_str() + scale.size() && errno == 0 && std::isfinite(v),
        flag + " " + text + ": the scale '" + scale + "' is not a number (expected FILE[:SCALE], e.g. style.safetensors:0.8)");
  spec.scale = v;
  return spec;
}

size_t LoraAdapter::layers_in(const std::string& network) const {
  size_t n = 0;
  for (const auto& l : layers) n += l.network == network;
  return n;
}

namespace {

constexpr const char* kDiffusersLoraFile = "pytorch_lora_weights.safetensors";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// diffusers' older attention-processor names (to_q_lora, ...) onto the module they wrap: in the
// UNet's Attention to_q/to_k/to_v/to_out.0, in CLIP's self-attention q_proj/k_proj/v_proj/out_proj.
std::string processor_module(const std::string& network, std::string prefix, const std::string& proj) {
  const std::string processor = ".processor";
  if (ends_with(prefix, processor)) prefix.resize(prefix.size() - processor.size());
  if (network != "unet") {  // CLIP: text_encoder, text_encoder_2
    const std::map<std::string, std::string> clip{{"to_q", "q_proj"}, {"to_k", "k_proj"}, {"to_v", "v_proj"},
                                                  {"to_out", "out_proj"}};
    return prefix + "." + clip.at(proj);
  }
  return prefix + "." + (proj == "to_out" ? std::string("to_out.0") : proj);
}

}  // namespace

LoraKey parse_lora_key(const std::string& key) {
  LoraKey k;
  // kohya sd-scripts / A1111: lora_unet_<module with '.' -> '_'>.{lora_down.weight, lora_up.weight, alpha}
  for (const auto& [prefix, network] : {std::pair<std::string, std::string>{"lora_unet_", "unet"},
                                        {"lora_te_", "text_encoder"},
                                        {"lora_te1_", "text_encoder"},
                                        {"lora_te2_", "text_encoder_2"}}) {
    if (!starts_with(key, prefix)) continue;
    const size_t dot = key.find('.');
    check(dot != std::string::npos && dot > prefix.size(), "LoRA key '" + key + "': no module name");
    const std::string part = key.substr(dot + 1);
    k.network = network;
    k.module = key.substr(prefix.size(), dot - prefix.size());
    k.format = "kohya";
    if (part == "lora_down.weight") k.part = "down";
    else if (part == "lora_up.weight") k.part = "up";
    else if (part == "alpha") k.part = "alpha";
    else throw Error("LoRA key '" + key + "': '" + part + "' is not a LoRA tensor (lora_down.weight, lora_up.weight, alpha; LoHa/LoKr/DoRA are not supported)");
    return k;
  }
  // diffusers / PEFT: unet.<module>.lora_A.weight, text_encoder.<module>.lora_B.weight; files without the
  // prefix (diffusers' first attention-processor LoRAs) are the UNet's.
  std::string rest = key;
  k.network = "unet";
  if (starts_with(rest, "unet.")) rest = rest.substr(5);
  else if (starts_with(rest, "text_encoder.")) {
    rest = rest.substr(13);
    k.network = "text_encoder";
  } else if (starts_with(rest, "text_encoder_2.")) {
    rest = rest.substr(15);
    k.network = "text_encoder_2";
  }
  k.format = "diffusers";
  struct Suffix {
    const char* text;
    const char* part;
  };
  for (const Suffix& s : {Suffix{".lora_A.weight", "down"}, Suffix{".lora_B.weight", "up"},
                          Suffix{".lora.down.weight", "down"}, Suffix{".lora.up.weight", "up"},
                          Suffix{".lora_linear_layer.down.weight", "down"}, Suffix{".lora_linear_layer.up.weight", "up"},
                          Suffix{".alpha", "alpha"}}) {
    if (!ends_with(rest, s.text)) continue;
    k.module = rest.substr(0, rest.size() - std::string(s.text).size());
    k.part = s.part;
    check(!k.module.empty(), "LoRA key '" + key + "': no module name");
    return k;
  }
  // <attention>.processor.to_q_lora.down.weight
  for (const char* proj : {"to_q", "to_k", "to_v", "to_out"}) {
    for (const char* part : {"down", "up"}) {
      const std::string suffix = std::string(".") + proj + "_lora." + part + ".weight";
      if (!ends_with(rest, suffix)) continue;
      const std::string prefix = rest.substr(0, rest.size() - suffix.size());
      check(!prefix.empty(), "LoRA key '" + key + "': no module name");
      k.module = processor_module(k.network, prefix, proj);
      k.part = part;
      return k;
    }
  }
  throw Error("LoRA key '" + key + "' is in no LoRA layout sdwalk reads (kohya lora_unet_*/lora_te_*/lora_te1_*/"
              "lora_te2_*, diffusers/PEFT unet.*.lora_A/lora_B, text_encoder.*, text_encoder_2.*, *.to_q_lora.down/up)");
}

namespace {

struct Pending {
  LoraKey key;
  Tensor down, up;
  double alpha = NAN;
  std::vector<std::string> keys;
};

std::string shape_of(const Tensor& t) { return shape_string(t.shape()); }

// down [r, in(, kh, kw)] and up [out, r(, 1, 1)] against the layer's weight [out, in(, kh, kw)].
bool fits(const Tensor& w, const Tensor& down, const Tensor& up) {
  if (!(down.ndim() == 2 || down.ndim() == 4) || !(up.ndim() == 2 || up.ndim() == 4)) return false;
  if (!(w.ndim() == 2 || w.ndim() == 4)) return false;
  const int64_t r = down.dim(0);
  if (up.dim(1) != r || up.dim(0) != w.dim(0) || down.dim(1) != w.dim(1)) return false;
  if (up.ndim() == 4 && (up.dim(2) != 1 || up.dim(3) != 1)) return false;
  const int64_t kh = w.ndim() == 4 ? w.dim(2) : 1, kw = w.ndim() == 4 ? w.dim(3) : 1;
  const int64_t dh = down.ndim() == 4 ? down.dim(2) : 1, dw = down.ndim() == 4 ? down.dim(3) : 1;
  return kh == dh && kw == dw;
}

std::string listed(const std::vector<std::string>& keys) {
  std::string out;
  const size_t shown = std::min<size_t>(keys.size(), 5);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + keys[i];
  if (keys.size() > shown) out += " and " + std::to_string(keys.size() - shown) + " more";
  return out;
}

}  // namespace

LoraAdapter load_lora(const LoraSpec& spec, const Weights& unet, const Weights& text_encoder,
                      const Weights* text_encoder_2) {
  const std::string where = "LoRA " + spec.file.string();
  std::error_code ec;
  // A folder is what diffusers' save_lora_weights writes: its one file goes by a fixed name.
  fs::path path = spec.file;
  if (fs::is_directory(path, ec)) {
    path /= kDiffusersLoraFile;
    check(fs::is_regular_file(path, ec),
          where + ": a folder without " + kDiffusersLoraFile + " (expected a LoRA .safetensors file or a folder holding one under that name)");
  }
  check(fs::is_regular_file(path, ec), where + ": no such file");
  SafeTensors file = [&] {
    try {
      return SafeTensors::open(path);
    } catch (const Error& e) {
      throw Error(where + ": not a safetensors file (" + e.what() + ")");
    }
  }();
  check(!file.names().empty(), where + ": the file holds no tensors");
  LoraAdapter out;
  out.spec = spec;
  std::map<std::pair<std::string, std::string>, Pending> modules;  // (network, module as spelled)
  for (const std::string& name : file.names()) {
    LoraKey k;
    try {
      k = parse_lora_key(name);
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
    out.format = k.format;
    Pending& p = modules[{k.network, k.module}];
    p.key = k;
    p.keys.push_back(name);
    const Tensor t = file.get(name);
    check(t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16,
          where + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype()) + ", expected a float type");
    if (k.part == "alpha") {
      check(t.numel() == 1, where + ": tensor '" + name + "' should be one number (alpha), has shape " + shape_of(t));
      p.alpha = double(t.to_f32().f32()[0]);
    } else {
      (k.part == "down" ? p.down : p.up) = t.to_f32();
    }
  }
  // Kohya names are module paths with '.' -> '_': look them up among the model's own modules.
  std::map<std::string, std::map<std::string, std::string>> underscored;
  std::map<std::string, const Weights*> networks{{"unet", &unet}, {"text_encoder", &text_encoder}};
  if (text_encoder_2) networks["text_encoder_2"] = text_encoder_2;
  for (const auto& [id, p] : modules)
    check(networks.count(p.key.network),
          where + ": key '" + p.keys.front() + "' is for an SDXL model's second text encoder; this model has one "
                                                "(SD 1.x/2.x)");
  for (const auto& [network, weights] : networks) {
    auto& m = underscored[network];
    for (const std::string& name : weights->names()) {
      if (!ends_with(name, ".weight")) continue;
      std::string module = name.substr(0, name.size() - 7), u = module;
      for (char& c : u)
        if (c == '.') c = '_';
      m.emplace(u, module);
    }
  }
  std::vector<std::string> unmatched;
  for (auto& [id, p] : modules) {
    const Weights& w = *networks.at(p.key.network);
    std::string module = p.key.module;
    if (p.key.format == "kohya") {
      auto& names = underscored[p.key.network];
      auto it = names.find(module);
      // SDXL's kohya UNet names are the sgm blocks': their diffusers module, underscored.
      if (it == names.end() && p.key.network == "unet") it = names.find(io::sgm_lora_module(module, unet));
      module = it == names.end() ? "" : it->second;
    } else if (!w.contains(module + ".weight")) {
      module.clear();
    }
    if (module.empty()) {
      unmatched.insert(unmatched.end(), p.keys.begin(), p.keys.end());
      continue;
    }
    check(p.down.defined() && p.up.defined(),
          where + ": module '" + p.key.module + "' has " + (p.down.defined() ? "a down" : "an up") +
              " factor but no " + (p.down.defined() ? "up" : "down") + " factor (keys: " + listed(p.keys) + ")");
    const Tensor& base = w.get(module + ".weight");
    check(fits(base, p.down, p.up),
          where + ": layer '" + p.key.module + "' has up " + shape_of(p.up) + " x down " + shape_of(p.down) +
              ", but the model's " + p.key.network + " layer '" + module + "' is " + shape_of(base) +
              ": this LoRA is for another architecture");
    const int64_t rank = p.down.dim(0);
    check(rank > 0, where + ": layer '" + p.key.module + "' has rank 0");
    LoraLayer layer;
    layer.network = p.key.network;
    layer.module = module;
    layer.down = p.down;
    layer.up = p.up;
    // No alpha (diffusers' files): alpha = rank, scaling 1.
    layer.scaling = std::isnan(p.alpha) ? 1.0 : p.alpha / double(rank);
    layer.keys = p.keys;
    out.layers.push_back(std::move(layer));
  }
  check(unmatched.empty(), where + ": " + std::to_string(unmatched.size()) +
                               " key(s) match no layer of this model: " + listed(unmatched));
  return out;
}

}  // namespace sdwalk
