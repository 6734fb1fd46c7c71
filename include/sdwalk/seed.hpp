#pragma once
// One rule for seeds everywhere (flags, keyframe files, settings.json): an integer 0 .. 2^63 - 1.
// torch's manual_seed also takes negatives and values up to 2^64 - 1, but sdwalk used to read them
// three different ways (random, 2^64 - k, clamped to 2^63 - 1); refusing them gives each number one meaning.
#include <cstdint>
#include <limits>
#include <string>

namespace sdwalk {

constexpr int64_t kMaxSeed = std::numeric_limits<int64_t>::max();

// Parses a decimal seed (digits only); Error "<what>: expected a seed 0 .. 9223372036854775807, got '<text>'".
int64_t parse_seed(const std::string& text, const std::string& what);
// Throws the same Error unless 0 <= seed.
void check_seed(int64_t seed, const std::string& what);

}  // namespace sdwalk
