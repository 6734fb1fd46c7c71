// Writes an SD 1.5-sized model with random weights as a diffusers folder, for end-to-end runs
// (peak memory of `sdwalk generate` on a full-sized checkpoint). Its output is never committed.
//   write_random_checkpoint OUT_DIR [--dtype f32|f16|bf16] [--tokenizer DIR]
// --tokenizer: a CLIP tokenizer folder (vocab.json, merges.txt) copied into OUT_DIR/tokenizer.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/random_weights.hpp"
#include "sdwalk/safetensors.hpp"

namespace {

using namespace sdwalk;
namespace fs = std::filesystem;

void write_json(const fs::path& path, const nlohmann::json& j) {
  std::ofstream out(path);
  check(bool(out), path.string() + ": cannot write");
  out << j.dump(2) << "\n";
}

void write_network(const fs::path& dir, const std::string& file, const nlohmann::json& config, const Weights& w) {
  fs::create_directories(dir);
  write_json(dir / "config.json", config);
  std::map<std::string, Tensor> tensors;
  for (const auto& name : w.names()) tensors.emplace(name, w.get(name));
  save_safetensors(dir / file, tensors, {{"format", "pt"}});
  std::printf("wrote %s (%zu tensors, %lld parameters)\n", (dir / file).c_str(), w.size(),
              (long long)w.parameter_count());
}

int run(int argc, char** argv) {
  check(argc >= 2, "usage: write_random_checkpoint OUT_DIR [--dtype f32|f16|bf16] [--tokenizer DIR]");
  const fs::path out = argv[1];
  RandomWeightOptions o;
  o.dtype = DType::F16;
  fs::path tokenizer;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dtype") {
      check(value == "f32" || value == "f16" || value == "bf16", "--dtype " + value + ": expected f32, f16 or bf16");
      o.dtype = value == "f32" ? DType::F32 : value == "f16" ? DType::F16 : DType::BF16;
    } else if (flag == "--tokenizer") {
      tokenizer = value;
    } else {
      throw Error("unknown flag " + flag);
    }
  }
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
    RandomWeightOptions r = o;
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
  write_json(out / "model_index.json",
             {{"_class_name", "StableDiffusionPipeline"},
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
  std::printf("random SD 1.5 checkpoint in %s\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_random_checkpoint: %s\n", e.what());
    return 1;
  }
}
