#include "sdwalk/memory_estimate.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

namespace {
// Bytes per weight as the layers keep them (convolution/linear weights dominate every network).
double weight_bytes(const Weights& w, Precision precision, WeightStorage storage, const std::string& dtype) {
  const bool half = precision == Precision::BF16 || storage == WeightStorage::F16 ||
                    (storage == WeightStorage::Auto && (dtype == "F16" || dtype == "BF16"));
  return double(w.parameter_count()) * (half ? 2.0 : 4.0);
}

int first_channels(const nlohmann::json& config, int fallback) {
  const auto it = config.find("block_out_channels");
  return it != config.end() && it->is_array() && !it->empty() && (*it)[0].is_number_integer() ? (*it)[0].get<int>()
                                                                                                 : fallback;
}

std::string gigabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  return buf;
}
}  // namespace

double MemoryEstimate::peak_bytes() const {
  constexpr double kMargin = 500e6;  // runtime, tokenizer, oneDNN scratch, text encoder activations
  return weights_bytes + std::max(unet_activation_bytes, vae_activation_bytes) + kMargin;
}

MemoryEstimate estimate_memory(const ModelFiles& files, Precision precision, WeightStorage storage, int images,
                               int height, int width, bool cfg, VaeTiling tiling) {
  MemoryEstimate e;
  for (const Weights* w : {&files.text_encoder, &files.text_encoder_2, &files.unet, &files.vae})
    e.weights_bytes += weight_bytes(*w, precision, storage, files.weights_dtype);
  const double lh = double(height) / 8, lw = double(width) / 8, batch = double(images) * (cfg ? 2 : 1);
  // The UNet's first level holds the most: the skip connections, a transformer block's GEGLU rows
  // (8x the channels) and its neighbours: about 24 level-one tensors of f32 (measured at 64x64).
  e.unet_activation_bytes = batch * lh * lw * first_channels(files.unet_config, 320) * 4.0 * 24;
  // The decoder's last levels: an upsampled tensor and a convolution's output at full size, with the
  // second-widest channel count (256 for SD 1.5), per picture; decoded one picture at a time.
  const bool tiled = tiling == VaeTiling::On ||
                     (tiling == VaeTiling::Auto && AutoencoderKL::tiling_advised(int64_t(lh), int64_t(lw)));
  const double tile_pixels = tiled ? 64.0 * 8 * 64 * 8 : double(height) * double(width);
  const int vae_channels = first_channels(files.vae_config, 128) * 2;
  e.vae_activation_bytes = double(images) * tile_pixels * vae_channels * 4.0 * 2;
  return e;
}

double available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024.0;
  return 0;
}

void check_memory(const MemoryEstimate& e, double limit_bytes, const std::string& limit_name, const std::string& what) {
  if (limit_bytes <= 0 || e.peak_bytes() <= limit_bytes) return;
  throw Error(what + " needs about " + gigabytes(e.peak_bytes()) + " of memory (weights " + gigabytes(e.weights_bytes) +
              ", UNet activations " + gigabytes(e.unet_activation_bytes) + ", VAE decoder " +
              gigabytes(e.vae_activation_bytes) + "); " + limit_name + " is " + gigabytes(limit_bytes) +
              ": use a smaller size or batch" + (e.vae_activation_bytes > e.unet_activation_bytes ? " or --vae-tiling" : ""));
}

}  // namespace sdwalk
