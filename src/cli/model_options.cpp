#include "cli/model_options.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "cli/thread_count.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("--model", o.model, "Diffusers folder or single-file .safetensors checkpoint (SD 1.x or 2.x)");
  cmd->add_option("--tokenizer", o.tokenizer, "Folder with the CLIP vocab.json and merges.txt (single-file checkpoints)");
  cmd->add_option("--config", o.config, "Diffusers folder whose config.json files describe a single-file checkpoint");
  cmd->add_option("--threads", o.threads, "CPU threads (0: all cores; more are capped at the cores, with a warning)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", o.precision,
                  "f32, bf16 or auto (bf16 where the CPU has AVX512_BF16/AMX): convolutions and matmuls; bf16 "
                  "images differ from f32 by about 1/255 on average")
      ->capture_default_str();
  cmd->add_option("--weights", o.weights,
                  "How f32 layers keep their weights: f16 (half the memory; an f32 checkpoint's weights are "
                  "rounded), f32, or auto (fp16 checkpoints stay fp16, exactly: same images, half the memory)")
      ->capture_default_str();
  cmd->add_option("--max-memory", o.max_memory_gb,
                  "Refuse a request estimated to need more than this many GB (default: the memory available now)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--lora", o.loras,
                  "LoRA FILE[:SCALE] on top of the model (kohya/A1111 or diffusers/PEFT .safetensors; scale "
                  "default 1); repeatable. Keyframes can set its scale per keyframe: \"loras\": {\"FILE\": 0.8}");
  // A bare --vae-tiling means "on"; --vae-tiling=off turns the automatic tiling off.
  cmd->add_flag("--vae-tiling{on}", o.vae_tiling,
                "Decode images in tiles: memory follows the tile, pixels stay the same, time grows several-fold. on, "
                "off or auto (tiles above 1536x1536); a bare --vae-tiling means on")
      ->capture_default_str();
}

std::vector<LoraSpec> lora_specs(const ModelOptions& o) {
  std::vector<LoraSpec> out;
  for (const std::string& text : o.loras) out.push_back(parse_lora_spec(text, "--lora"));
  return out;
}

StableDiffusionPipeline load_pipeline(const ModelOptions& o, const std::function<void(const ModelFiles&)>& check_request) {
  check(!o.model.empty(), "no model given: pass --model DIR|FILE (a diffusers folder or an SD 1.x or 2.x .safetensors checkpoint)");
  ops::set_threads(thread_count_for(o.threads));
  std::fprintf(stderr, "loading %s\n", o.model.c_str());
  LoadOptions load;
  load.model = o.model;
  load.tokenizer_dir = o.tokenizer;
  load.config_dir = o.config;
  load.precision = parse_precision(o.precision, "--precision");
  load.weights = parse_weight_storage(o.weights, "--weights");
  load.vae_tiling = parse_vae_tiling(o.vae_tiling, "--vae-tiling");
  load.memory = MemoryPolicy::Lean;
  load.check_request = check_request;
  load.loras = lora_specs(o);
  return StableDiffusionPipeline::load(load);
}

EngineOptions engine_options(const ModelOptions& o) {
  check(!o.model.empty(), "no model given: pass --model DIR|FILE (a diffusers folder or an SD 1.x or 2.x .safetensors checkpoint)");
  EngineOptions e;
  e.model = o.model;
  e.tokenizer = o.tokenizer;
  e.config = o.config;
  e.threads = thread_count_for(o.threads);
  e.precision = parse_precision(o.precision, "--precision");
  e.weights = parse_weight_storage(o.weights, "--weights");
  e.vae_tiling = parse_vae_tiling(o.vae_tiling, "--vae-tiling");
  e.memory = MemoryPolicy::Lean;
  e.memory_limit = {o.max_memory_gb * 1e9, "--max-memory"};
  e.loras = lora_specs(o);
  return e;
}

SamplingGiven sampling_given(const CLI::App& cmd) {
  return {cmd.count("--scheduler") > 0, cmd.count("--num-inference-steps") > 0, cmd.count("--guidance-scale") > 0};
}

uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t(rd()) << 32 | rd()) % 4294967296ull;
}

void check_writable_destination(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  check(fs::is_directory(dir), path + ": folder " + dir.string() + " does not exist");
  check(::access(dir.c_str(), W_OK) == 0, path + ": folder " + dir.string() + " is not writable");
  check(!fs::is_directory(p), path + ": is a folder, expected a file name");
}

void print_notice(const std::string& line) {
  if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace sdwalk::cli
