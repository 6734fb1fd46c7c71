#pragma once
// Random SD 1.5-sized networks made in memory, for benchmarks: every tensor name and shape comes from
// the same config schema the loader checks files against (so they stay in step with the models), the
// configs are SD 1.5's own. Values are small and deterministic (a counter-based hash of seed, tensor
// name and index), so any thread count gives the same weights.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {

struct RandomWeightOptions {
  uint64_t seed = 0;
  DType dtype = DType::F32;  // F32, F16 or BF16
  float stddev = 0.02f;      // of the approximately normal values (norm weights are 1, norm biases 0)
  // Which networks random_sd15_model fills (the others stay empty; their configs are always set).
  bool text_encoder = true, unet = true, vae = true;
};

// One network's tensors for `shapes` (name -> shape), filled in parallel over ops::threads().
Weights random_weights(const std::string& network, const std::map<std::string, Shape>& shapes,
                       const RandomWeightOptions& options = {});

// SD 1.5 (runwayml/stable-diffusion-v1-5 configs: UNet 320/640/1280/1280, VAE 128/256/512/512,
// CLIP ViT-L/14 text model) with random weights; scheduler config as diffusers' SD 1.5 default,
// no tokenizer folder. path is "random SD 1.5".
ModelFiles random_sd15_model(const RandomWeightOptions& options = {});

// SDXL base 1.0 (stabilityai/stable-diffusion-xl-base-1.0 configs: UNet 320/640/1280 with 1/2/10
// transformer layers and text_time, VAE 128/256/512/512 with scaling 0.13025, CLIP ViT-L + OpenCLIP bigG
// with projection) with random weights, Euler scheduler config; text_encoder fills both encoders.
// path is "random SDXL".
ModelFiles random_sdxl_model(const RandomWeightOptions& options = {});

// random_sd15_model written to `out` as a diffusers folder (one network in memory at a time), with
// `tokenizer`'s vocab.json and merges.txt copied in when it is not empty.
void write_random_sd15_folder(const std::filesystem::path& out, const RandomWeightOptions& options = {},
                              const std::filesystem::path& tokenizer = {});

// random_sdxl_model written to `out` as an SDXL diffusers folder (model_index StableDiffusionXLPipeline),
// with the tokenizer folders' files copied in when given (tokenizer_2: SD 2's, which pads with "!").
void write_random_sdxl_folder(const std::filesystem::path& out, const RandomWeightOptions& options = {},
                              const std::filesystem::path& tokenizer = {}, const std::filesystem::path& tokenizer_2 = {});

}  // namespace sdwalk
