#pragma once
// Input checks shared by the planners: they accept a batch of one or the bare item and always hand
// frames [1, ...] tensors; errors name the argument and the shape that was expected.
#include <string>
#include <utility>

#include "sdwalk/tensor.hpp"

namespace sdwalk::walk_detail {

// [1, T, C] (or [T, C], given the leading 1), float32.
Tensor embedding1(const Tensor& t, const std::string& what);
// [1, 4, h, w] (or [4, h, w], given the leading 1), float32.
Tensor latents1(const Tensor& t, const std::string& what);
// Two noises from [2, 4, h, w] or [2, 1, 4, h, w], each as [1, 4, h, w] float32.
std::pair<Tensor, Tensor> noise_pair(const Tensor& noises, const std::string& what);
// The same shape, or an Error naming both.
void check_same_shape(const Tensor& a, const std::string& what_a, const Tensor& b, const std::string& what_b);
// n >= 2 frames.
void check_frames(int n, const std::string& what);

}  // namespace sdwalk::walk_detail
