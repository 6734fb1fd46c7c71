#pragma once
// Portable SIMD for our kernels: GCC vector extensions (16 floats). Inside a function compiled for
// AVX-512 (isa_dispatch.hpp) a vf16 is one zmm register, for AVX2 two ymm, otherwise four xmm; the same
// source serves every level. Helpers are always_inline so they take the caller's target.
#include <bit>
#include <cstdint>
#include <cstring>

#pragma GCC diagnostic ignored "-Wpsabi"  // vf16 never crosses a non-inlined call boundary

namespace sdwalk::ops::detail {

typedef float vf16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
typedef float vf8 __attribute__((vector_size(32)));
typedef double vd8 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

#define SDWALK_INLINE [[gnu::always_inline]] inline

SDWALK_INLINE vf16 vbroadcast(float v) { return v - vf16{}; }  // one broadcast (v + 0 would add: 0 + -0 is +0)
SDWALK_INLINE vf16 vload(const float* p) {
  vf16 r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
SDWALK_INLINE void vstore(float* p, const vf16& v) { std::memcpy(p, &v, sizeof v); }
// First n (< 16) lanes from p, the rest zero; and the matching partial store.
SDWALK_INLINE vf16 vload_partial(const float* p, int64_t n) {
  vf16 r{};
  std::memcpy(&r, p, size_t(n) * sizeof(float));
  return r;
}
SDWALK_INLINE void vstore_partial(float* p, const vf16& v, int64_t n) { std::memcpy(p, &v, size_t(n) * sizeof(float)); }
SDWALK_INLINE vf16 vmax(const vf16& a, const vf16& b) { return a > b ? a : b; }
SDWALK_INLINE vf16 vmin(const vf16& a, const vf16& b) { return a < b ? a : b; }

// e^x within ~2 ulp (Cephes expf: x = n ln2 + r, degree-6 polynomial in r, times 2^n), for a float
// vector V of any width and its int32 twin VI. x < -87 (including -inf) gives exactly 0; x > 88
// saturates at e^88. NaN is not preserved.
template <class V, class VI> SDWALK_INLINE V vexp_any(const V& x0) {
  const V lo = V{} - 87.0f, hi = V{} + 88.0f;
  V x = x0 > lo ? x0 : lo;
  x = x < hi ? x : hi;
  const V shifter = V{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V t = x * 1.44269504088896341f + shifter;
  const V n = t - shifter;
  const VI ni = std::bit_cast<VI>(t) - std::bit_cast<int32_t>(12582912.0f);
  V r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  const V z = r * r;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  const V y = p * std::bit_cast<V>((ni + 127) << 23);
  return x0 < -87.0f ? V{} : y;
}
SDWALK_INLINE vf16 vexp(const vf16& x0) { return vexp_any<vf16, vi16>(x0); }

// e^x for x <= 0 only, as softmax needs it after subtracting the running max: about half the work of
// vexp_any (no upper clamp, no final select, a degree-5 polynomial fitted to e^r on |r| <= ln2/2 by
// tools/kernels/softmax_exp_fit.py). Relative error <= 2e-7 (1.6 ulp) down to x = -87; below that
// (and -inf, for masked scores) it returns e^-87 ~ 1.6e-38, not 0, which no softmax sum can see.
template <class V, class VI> SDWALK_INLINE V vexp_nonpositive(const V& x0) {
  const V x = x0 > -87.0f ? x0 : V{} - 87.0f;
  const V shifter = V{} + 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V t = x * 1.44269504088896341f + shifter;
  const V n = t - shifter;
  V r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  V p = V{} + 8.312527e-3f;
  p = p * r + 4.1890117e-2f;
  p = p * r + 1.6667114e-1f;
  p = p * r + 4.9999232e-1f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n from t's low mantissa bits: (bits(t) - bits(shifter) + 127) << 23, one add and one shift.
  const VI e = (std::bit_cast<VI>(t) + (127 - std::bit_cast<int32_t>(12582912.0f))) << 23;
  return p * std::bit_cast<V>(e);
}

// 1 + erf(x), accurate in both tails (Abramowitz & Stegun 7.1.26, |error of erf| < 1.5e-7):
// erfc(|x|) = q(t) e^{-x^2}, t = 1 / (1 + p|x|); 1 + erf(x) = 2 - erfc(x) for x >= 0, erfc(-x) for x < 0.
SDWALK_INLINE vf16 vone_plus_erf(const vf16& x) {
  const vf16 ax = vmax(x, -x);
  const vf16 t = 1.0f / (1.0f + 0.3275911f * ax);
  vf16 q = vbroadcast(1.061405429f);
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  q = q * t;
  const vf16 erfc_ax = q * vexp(-(ax * ax));
  return x < 0.0f ? erfc_ax : 2.0f - erfc_ax;
}

SDWALK_INLINE vf16 vsilu(const vf16& x) { return x / (1.0f + vexp(-x)); }
SDWALK_INLINE vf16 vquick_gelu(const vf16& x) { return x / (1.0f + vexp(-1.702f * x)); }
SDWALK_INLINE vf16 vgelu(const vf16& x) { return 0.5f * x * vone_plus_erf(x * 0.70710678118654752f); }

// 8 floats widened to double, for accumulating statistics without losing digits.
SDWALK_INLINE vd8 vload_d8(const float* p) {
  vf8 r;
  std::memcpy(&r, p, sizeof r);
  return __builtin_convertvector(r, vd8);
}
SDWALK_INLINE double vsum(const vd8& v) {
  double s = 0;
  for (int i = 0; i < 8; ++i) s += v[i];
  return s;
}

// bf16 (as uint16 bits) <-> float, 16 at a time. Rounding to nearest even; NaN stays a (quiet) NaN.
typedef uint32_t vu16 __attribute__((vector_size(64)));
typedef uint16_t vh16 __attribute__((vector_size(32)));
SDWALK_INLINE vh16 vto_bf16(const vf16& v) {
  const vu16 u = std::bit_cast<vu16>(v);
  const vu16 rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const vu16 nan = (u >> 16) | 0x40u;
  const vu16 r = (u & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded;
  return __builtin_convertvector(r, vh16);
}
SDWALK_INLINE void vstore_bf16(uint16_t* p, const vf16& v) {
  const vh16 h = vto_bf16(v);
  std::memcpy(p, &h, sizeof h);
}
SDWALK_INLINE void vstore_bf16_partial(uint16_t* p, const vf16& v, int64_t n) {
  const vh16 h = vto_bf16(v);
  std::memcpy(p, &h, size_t(n) * sizeof(uint16_t));
}
SDWALK_INLINE vf16 vload_bf16(const uint16_t* p) {
  vh16 h;
  std::memcpy(&h, p, sizeof h);
  return std::bit_cast<vf16>(__builtin_convertvector(h, vu16) << 16);
}
SDWALK_INLINE vf16 vload_bf16_partial(const uint16_t* p, int64_t n) {
  vh16 h{};
  std::memcpy(&h, p, size_t(n) * sizeof(uint16_t));
  return std::bit_cast<vf16>(__builtin_convertvector(h, vu16) << 16);
}

// Stores 16 floats as float or as bf16, by the pointer's type.
SDWALK_INLINE void vstore_as(float* p, const vf16& v) { vstore(p, v); }
SDWALK_INLINE void vstore_as(uint16_t* p, const vf16& v) { vstore_bf16(p, v); }
SDWALK_INLINE void vstore_as_partial(float* p, const vf16& v, int64_t n) { vstore_partial(p, v, n); }
SDWALK_INLINE void vstore_as_partial(uint16_t* p, const vf16& v, int64_t n) { vstore_bf16_partial(p, v, n); }

// Scalar twins through the vector code, for tails and small loops (lane 0).
SDWALK_INLINE float exp_approx(float x) { return vexp(vbroadcast(x))[0]; }

}  // namespace sdwalk::ops::detail
