#pragma once
// Branch-free float math the compiler can vectorise (std::exp is an opaque library call).
#include <bit>
#include <cstdint>

namespace sdwalk::ops::detail {

// e^x within ~2 ulp for x in [-87, 88] (Cephes expf: x = n ln2 + r, polynomial in r, times 2^n).
// Inputs below -87 return ~0, above 88 clamp; NaN is not preserved.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + kShifter;
  const float n = t - kShifter;
  const int32_t ni = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kShifter);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  return p * std::bit_cast<float>((ni + 127) << 23);
}

}  // namespace sdwalk::ops::detail
