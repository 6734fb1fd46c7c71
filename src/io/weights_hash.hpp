#pragma once
// A fingerprint of a model's weights for run settings: the same weights give the same hash whatever
// the file they came from, as long as the stored dtype is the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sdwalk/model_files.hpp"

namespace sdwalk {

// 64-bit hash over every tensor's name, dtype, shape and bytes (text encoder, UNet, VAE), as 16 hex digits.
std::string weights_hash(const ModelFiles& files);
// The same hash over plain bytes (configs, tokenizer and noise files), as 16 hex digits.
std::string bytes_hash(const void* data, size_t size);

}  // namespace sdwalk
