#pragma once
// Attaches the run-time LoRA branches a network's Weights carry (Weights::add_low_rank, LoraMode::Branch)
// to the layer built from <module>.weight.
#include <string>

#include "backend/cpu/ops.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk::models {

void attach_low_rank(ops::Linear& layer, const Weights& weights, const std::string& module);
void attach_low_rank(ops::Conv2d& layer, const Weights& weights, const std::string& module);

}  // namespace sdwalk::models
