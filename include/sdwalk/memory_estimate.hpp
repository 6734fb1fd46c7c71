#pragma once
// How much memory a request will take, from the model's files and the picture size, before any
// network is built: so that an impossible request (--height 100000) is refused with a line saying
// what it would need, instead of failing after gigabytes were allocated.
#include <cstdint>
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

struct MemoryEstimate {
  double weights_bytes = 0;          // the networks' weights as the layers keep them
  double unet_activation_bytes = 0;  // the largest live set of a UNet step (CFG batch included)
  double vae_activation_bytes = 0;   // the decoder's at the last level (of one tile when tiled)
  double peak_bytes() const;         // weights + the larger of the two, + a fixed margin
};

// `images`: pictures per UNet batch (a walk's --batch-size); `cfg`: guidance > 1 doubles the batch.
// Calibrated on SD 1.5 (f32 activations, fp16 weights): 3.2 GB measured at 512x512, batch 1, estimated
// 3.17 GB.
MemoryEstimate estimate_memory(const ModelFiles& files, Precision precision, WeightStorage storage, int images,
                               int height, int width, bool cfg, VaeTiling tiling);

// The memory this machine can give a new request now (MemAvailable), in bytes; 0 when unknown.
double available_memory_bytes();

// Throws Error "<what> needs about X GB (weights A GB, ...); <limit name> is Y GB" when the estimate
// exceeds `limit_bytes` (> 0).
void check_memory(const MemoryEstimate& estimate, double limit_bytes, const std::string& limit_name,
                  const std::string& what);

}  // namespace sdwalk
