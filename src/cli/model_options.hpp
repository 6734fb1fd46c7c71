#pragma once
// Flags shared by the commands that load a model: --model, --tokenizer, --config, --threads.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sdwalk/engine.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk::cli {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  std::string config;
  int threads = 0;  // 0: all cores
  std::string precision = "auto";  // f32 | bf16 | auto (bf16 where the CPU has it)
  std::string weights = "auto";    // auto | f32 | f16: how f32 layers keep their weights
  std::string vae_tiling = "auto";  // auto | on | off
  double max_memory_gb = 0;         // 0: the memory available when the request starts
  std::vector<std::string> loras;   // --lora FILE[:SCALE], repeatable
};

void add_model_options(CLI::App* cmd, ModelOptions& options);
// The --lora flags parsed (Error naming a flag whose scale is not a number).
std::vector<LoraSpec> lora_specs(const ModelOptions& options);
// Sets the thread count, loads the model (with a one-line notice on stderr) and returns the pipeline.
// `check_request` runs on the model's files before the networks are built (LoadOptions::check_request).
StableDiffusionPipeline load_pipeline(const ModelOptions& options,
                                      const std::function<void(const ModelFiles&)>& check_request = {});
// The engine of one command: --threads capped at the cores (with a warning), the flags' precision,
// weights and tiling, --max-memory, and MemoryPolicy::Lean (one request per process).
EngineOptions engine_options(const ModelOptions& options);
// Which of --scheduler, --num-inference-steps and --guidance-scale the command line gave.
SamplingGiven sampling_given(const CLI::App& cmd);
// A fresh random seed for runs without --seed (printed by the caller so the run can be repeated).
uint64_t random_seed();
// Throws Error unless `path`'s folder exists and is writable (checked before any long work).
void check_writable_destination(const std::string& path);
// A library notice (Callbacks::on_notice, prepare_request's line) on stderr; nothing for "".
void print_notice(const std::string& line);

}  // namespace sdwalk::cli
