// A random SD 1.5 model written to disk as a diffusers folder: a full-sized checkpoint for benchmarks
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

}  // namespace sdwalk
