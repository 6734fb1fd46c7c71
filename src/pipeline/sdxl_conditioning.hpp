#pragma once
// Pieces of StableDiffusionXLPipeline's conditioning that are plain tensor work.
#include "sdwalk/tensor.hpp"

namespace sdwalk {

// [..., Ca] ++ [..., Cb] -> [..., Ca + Cb] (torch.cat(dim=-1)); the leading shapes must agree.
Tensor concat_last(const Tensor& a, const Tensor& b);

}  // namespace sdwalk
