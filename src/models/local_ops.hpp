#pragma once
// Small element moves the models need that the kernel contract (backend/cpu/ops.hpp) does not offer.
// They are O(elements) copies, cheap next to the convolutions around them.
#include "sdwalk/tensor.hpp"

namespace sdwalk::models {

// [N, H, W, C] -> [N, H+1, W+1, C] with a zero row at the bottom and a zero column at the right:
// F.pad(x, (0, 1, 0, 1)) of diffusers' Downsample2D when padding == 0 (the VAE encoder).
Tensor pad_bottom_right(const Tensor& x);
// x *= s.
void scale_inplace(Tensor& x, float s);
// [1, D] -> [n, D] (a batch-wide time embedding, one row per sample).
Tensor repeat_rows(const Tensor& row, int64_t n);
// Channels [begin, end) of an NCHW tensor, as a new NCHW tensor.
Tensor channel_slice_nchw(const Tensor& x, int64_t begin, int64_t end);
// Clamps every element into [lo, hi].
void clamp_inplace(Tensor& x, float lo, float hi);

}  // namespace sdwalk::models
