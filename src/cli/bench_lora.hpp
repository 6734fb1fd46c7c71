#pragma once
// sdwalk bench --lora-rank R: a random rank-R LoRA in the shape of a typical SD 1.5 style LoRA (every
// attention projection and feed-forward layer of the UNet), to time what a LoRA costs: merging it into
// the weights once, or running it as a low-rank branch beside each layer at every step.
#include "sdwalk/lora.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk::cli {

LoraAdapter random_unet_lora(const Weights& unet, int rank);

}  // namespace sdwalk::cli
