// A random SD 1.5 (or SDXL) model written to disk as a diffusers folder: a full-sized checkpoint for benchmarks
// that load, map and release weights the way a user's checkpoint is (sdwalk bench --walk,
// bench/write_random_checkpoint).
#include <cstdio>
#include <fstream>
#include <map>

#include "sdwalk/error.hpp"
#include "models/random_weights.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {

namespace fs = std::filesystem;

namespace {
void write_json(const fs::path& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  check(bool(out), path.string() + ": cannot write");
}

void write_network(const fs::path& dir, const std::string& file, const nlohmann::json& config, const Weights& w) {
  fs::create_directories(dir);
  write_json(dir / "config.json", config);
  std::map<std::string, Tensor> tensors;
  for (const auto& name : w.names()) tensors.emplace(name, w.get(name));
  save_safetensors(dir / file, tensors, {{"format", "pt"}});
}
}  // namespace

void write_random_sd15_folder(const fs::path& out, const RandomWeightOptions& options, const fs::path& tokenizer) {
  fs::create_directories(out);
  // One network at a time keeps the writer's memory at the largest network.
  const struct {
    const char* dir;
    const char* file;
    bool te, unet, vae;
  } nets[] = {{"text_encoder", "model.safetensors", true, false, false},
              {"unet", "diffusion_pytorch_model.safetensors", false, true, false},
              {"vae", "diffusion_pytorch_model.safetensors", false, false, true}};
  nlohmann::json scheduler;
  for (const auto& n : nets) {
    RandomWeightOptions r = options;
    r.text_encoder = n.te;
    r.unet = n.unet;
    r.vae = n.vae;
    const ModelFiles m = random_sd15_model(r);
    const Weights& w = n.te ? m.text_encoder : n.unet ? m.unet : m.vae;
    const nlohmann::json& c = n.te ? m.text_encoder_config : n.unet ? m.unet_config : m.vae_config;
    write_network(out / n.dir, n.file, c, w);
    scheduler = m.scheduler_config;
  }
  fs::create_directories(out / "scheduler");
  write_json(out / "scheduler" / "scheduler_config.json", scheduler);
  write_json(out / "model_index.json", {{"_class_name", "StableDiffusionPipeline"},
                                        {"text_encoder", {"transformers", "CLIPTextModel"}},
                                        {"tokenizer", {"transformers", "CLIPTokenizer"}},
                                        {"unet", {"diffusers", "UNet2DConditionModel"}},
                                        {"vae", {"diffusers", "AutoencoderKL"}},
                                        {"scheduler", {"diffusers", "PNDMScheduler"}}});
  if (!tokenizer.empty()) {
    fs::create_directories(out / "tokenizer");
    for (const char* f : {"vocab.json", "merges.txt"})
      fs::copy_file(tokenizer / f, out / "tokenizer" / f, fs::copy_options::overwrite_existing);
  }
}

void write_random_sdxl_folder(const fs::path& out, const RandomWeightOptions& options, const fs::path& tokenizer,
                              const fs::path& tokenizer_2) {
  fs::create_directories(out);
  // One call per network (both text encoders together: smaller than the UNet).
  for (int part = 0; part < 3; ++part) {
    RandomWeightOptions r = options;
    r.text_encoder = part == 0;
    r.unet = part == 1;
    r.vae = part == 2;
    const ModelFiles m = random_sdxl_model(r);
    if (part == 0) {
      write_network(out / "text_encoder", "model.safetensors", m.text_encoder_config, m.text_encoder);
      write_network(out / "text_encoder_2", "model.safetensors", m.text_encoder_2_config, m.text_encoder_2);
      fs::create_directories(out / "scheduler");
      write_json(out / "scheduler" / "scheduler_config.json", m.scheduler_config);
    } else if (part == 1) {
      write_network(out / "unet", "diffusion_pytorch_model.safetensors", m.unet_config, m.unet);
    } else {
      write_network(out / "vae", "diffusion_pytorch_model.safetensors", m.vae_config, m.vae);
    }
  }
  write_json(out / "model_index.json", {{"_class_name", "StableDiffusionXLPipeline"},
                                        {"force_zeros_for_empty_prompt", true},
                                        {"text_encoder", {"transformers", "CLIPTextModel"}},
                                        {"text_encoder_2", {"transformers", "CLIPTextModelWithProjection"}},
                                        {"tokenizer", {"transformers", "CLIPTokenizer"}},
                                        {"tokenizer_2", {"transformers", "CLIPTokenizer"}},
                                        {"unet", {"diffusers", "UNet2DConditionModel"}},
                                        {"vae", {"diffusers", "AutoencoderKL"}},
                                        {"scheduler", {"diffusers", "EulerDiscreteScheduler"}}});
  for (const auto& [dir, from] : {std::pair<const char*, fs::path>{"tokenizer", tokenizer}, {"tokenizer_2", tokenizer_2}}) {
    if (from.empty()) continue;
    fs::create_directories(out / dir);
    for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
      if (fs::exists(from / f)) fs::copy_file(from / f, out / dir / f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace sdwalk
