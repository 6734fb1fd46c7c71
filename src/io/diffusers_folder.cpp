// The diffusers pipeline folder: model_index.json, and text_encoder/, unet/, vae/ with config.json and
// safetensors weights, scheduler/scheduler_config.json, tokenizer/. The `*.fp16.safetensors` variant
// is used when it is the only weight file.
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"

namespace sdwalk::io {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

fs::path find_weights(const fs::path& dir, const std::string& base) {
  const fs::path full = dir / (base + ".safetensors"), half = dir / (base + ".fp16.safetensors");
  for (const fs::path& p : {full, half})
    if (fs::exists(p)) {
      check_regular_file(p, "a safetensors weight file");  // a FIFO would block the open
      return p;
    }
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": missing folder (a diffusers model folder needs it)");
  for (const std::string& other : {base + ".safetensors.index.json", base + ".bin", base + ".fp16.bin"})
    if (fs::exists(dir / other))
      throw Error((dir / other).string() + ": only single .safetensors weight files are read (looked for " +
                  full.filename().string() + " or " + half.filename().string() + " in " + dir.string() + ")");
  throw Error(dir.string() + ": missing weights (looked for " + full.filename().string() + " and " +
              half.filename().string() + ")");
}

// Pre-0.14 diffusers VAE attention names.
std::string modern_vae_name(const std::string& name) {
  static const std::pair<const char*, const char*> table[] = {
      {".query.", ".to_q."}, {".key.", ".to_k."}, {".value.", ".to_v."}, {".proj_attn.", ".to_out.0."}};
  if (name.find("mid_block.attentions.0.") == std::string::npos) return name;
  for (const auto& [from, to] : table) {
    const size_t at = name.find(from);
    if (at != std::string::npos) return name.substr(0, at) + to + name.substr(at + std::string(from).size());
  }
  return name;
}

}  // namespace

Weights weights_from_file(const std::string& network, const SafeTensors& file) {
  Weights w(network, file.label());
  for (const auto& name : file.names()) {
    if (ends_with(name, "position_ids")) continue;  // a buffer, not a weight
    w.add(network == "vae" ? modern_vae_name(name) : name, file.get(name));
  }
  return w;
}

ModelFiles load_diffusers_folder(const fs::path& folder) {
  const json index = read_json_file(folder / "model_index.json");
  std::string cls;
  if (auto it = index.find("_class_name"); it != index.end() && it->is_string()) cls = it->get<std::string>();
  // SDXL: StableDiffusionXLPipeline, or any index naming a second text encoder.
  const bool sdxl = cls == "StableDiffusionXLPipeline" ||
                    (index.contains("text_encoder_2") && !index["text_encoder_2"].is_null());
  if (!sdxl && cls.find("XL") != std::string::npos)
    throw Error(folder.string() + ": " + cls + " is not supported (sdwalk runs StableDiffusionPipeline and "
                                               "StableDiffusionXLPipeline folders)");
  if (sdxl)
    for (const char* part : {"text_encoder_2", "tokenizer_2"})
      if (!fs::is_directory(folder / part))
        throw Error(folder.string() + ": missing " + part + "/ (an SDXL folder has text_encoder/, text_encoder_2/, "
                                      "tokenizer/, tokenizer_2/, unet/, vae/ and scheduler/)");
  for (const char* part : {"text_encoder", "unet", "vae", "scheduler", "tokenizer"})
    if (!fs::is_directory(folder / part))
      throw Error(folder.string() + ": missing " + part + "/ (a diffusers Stable Diffusion folder has text_encoder/, "
                                    "tokenizer/, unet/, vae/ and scheduler/)");
  ModelFiles m;
  m.layout = ModelLayout::DiffusersFolder;
  m.path = folder;
  m.config_source = folder.string();
  m.text_encoder_config = complete_text_encoder_config(read_json_file(folder / "text_encoder" / "config.json"));
  m.unet_config = complete_unet_config(read_json_file(folder / "unet" / "config.json"));
  m.vae_config = complete_vae_config(read_json_file(folder / "vae" / "config.json"));
  m.scheduler_config = read_json_file(folder / "scheduler" / "scheduler_config.json");
  m.text_encoder = weights_from_file("text_encoder", SafeTensors::open(find_weights(folder / "text_encoder", "model")));
  m.unet = weights_from_file("unet", SafeTensors::open(find_weights(folder / "unet", "diffusion_pytorch_model")));
  m.vae = weights_from_file("vae", SafeTensors::open(find_weights(folder / "vae", "diffusion_pytorch_model")));
  m.tokenizer_dir = folder / "tokenizer";
  if (sdxl) {
    m.text_encoder_2_config = complete_text_encoder_config(read_json_file(folder / "text_encoder_2" / "config.json"));
    m.text_encoder_2 =
        weights_from_file("text_encoder_2", SafeTensors::open(find_weights(folder / "text_encoder_2", "model")));
    m.tokenizer_2_dir = folder / "tokenizer_2";
    // StableDiffusionXLPipeline's default is True.
    const auto it = index.find("force_zeros_for_empty_prompt");
    m.force_zeros_for_empty_prompt = it == index.end() || !it->is_boolean() || it->get<bool>();
  }
  return m;
}

}  // namespace sdwalk::io
