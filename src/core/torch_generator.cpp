// torch's CPU generator (torch 1.13, x86-64 with AVX2): mt19937 + the AVX2 Box-Muller fill.
//
// torch.randn on a contiguous float tensor of >= 16 elements (ATen normal_fill_AVX2):
//   1. draw one uniform float u = (random() & 0xffffff) / 2^24 per element;
//   2. each block of 16 becomes 16 normals: for j < 8, r = sqrt(-2 log(1 - u[j])),
//      theta = 2 pi u[j + 8], out[j] = r cos(theta), out[j + 8] = r sin(theta);
//   3. when n % 16 != 0, 16 FRESH uniforms overwrite the last 16 slots and are transformed again.
// log/sin/cos there are the Cephes single-precision polynomials of avx_mathfun.h, and the compiler
// that built torch fused some multiply-adds into FMAs. Both are reproduced operation by operation
// below: every std::fma marks a fused site, every other product is rounded on its own (contraction
// is switched off for this file so that -march=native builds cannot fuse anything else).
// Below 16 elements torch takes at::normal_distribution<double> per element (with a cached second
// Box-Muller value) and casts to float.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "sdwalk/torch_generator.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

// Cephes logf as evaluated by avx_mathfun's log256_ps (argument in (0, 1] here).
float cephes_logf(float x) {
  constexpr float kSqrtHalf = float(0.707106781186547524);
  constexpr float kP[9] = {float(7.0376836292E-2),  float(-1.1514610310E-1), float(1.1676998740E-1),
                           float(-1.2420140846E-1), float(1.4249322787E-1),  float(-1.6668057665E-1),
                           float(2.0000714765E-1),  float(-2.4999993993E-1), float(3.3333331174E-1)};
  constexpr float kQ1 = float(-2.12194440e-4);
  constexpr float kQ2 = 0.693359375f;

  x = std::max(x, 1.17549435e-38f);  // flush denormals to the smallest normal
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  // x = m * 2^k with m in [0.5, 1): e = k.
  const float m = std::bit_cast<float>((bits & ~0x7f800000u) | 0x3f000000u);
  float e = float(int32_t(bits >> 23) - 0x7f) + 1.0f;
  float t = m - 1.0f;
  if (m < kSqrtHalf) {  // use 2m - 1 so that t stays in [sqrt(0.5) - 1, sqrt(2) - 1)
    e = e - 1.0f;
    t = t + m;
  }
  const float z = t * t;
  float y = kP[0];
  for (int k = 1; k < 9; ++k) y = std::fma(y, t, kP[k]);
  y = y * t;
  y = std::fma(y, z, e * kQ1);
  y = std::fma(-z, 0.5f, y);
  return std::fma(e, kQ2, t + y);
}

// Cephes sinf/cosf as evaluated together by avx_mathfun's sincos256_ps.
void cephes_sincosf(float x, float* sin_out, float* cos_out) {
  constexpr float kFourOverPi = float(1.27323954473516);
  constexpr float kDP1 = float(-0.78515625), kDP2 = float(-2.4187564849853515625e-4),
                  kDP3 = float(-3.77489497744594108e-8);
  constexpr float kSin0 = float(-1.9515295891E-4), kSin1 = float(8.3321608736E-3),
                  kSin2 = float(-1.6666654611E-1);
  constexpr float kCos0 = float(2.443315711809948E-005), kCos1 = float(-1.388731625493765E-003),
                  kCos2 = float(4.166664568298827E-002);

  const bool negative = std::signbit(x);
  x = std::fabs(x);
  // Octant j (rounded up to even) and the reduced argument x - j * pi/4 in three pieces.
  int32_t j = int32_t(x * kFourOverPi);
  j = (j + 1) & ~1;
  const float y = float(j);
  x = std::fma(y, kDP1, x);
  x = std::fma(y, kDP2, x);
  x = std::fma(y, kDP3, x);

  const float z = x * x;
  float c = std::fma(kCos0, z, kCos1);
  c = std::fma(c, z, kCos2);
  c = c * z;
  c = std::fma(c, z, -(z * 0.5f));
  c = c + 1.0f;
  float s = std::fma(kSin0, z, kSin1);
  s = std::fma(s, z, kSin2);
  s = s * z;
  s = std::fma(s, x, x);

  const bool swap = (j & 2) != 0;  // octants 2, 3 (mod 4): sine and cosine trade polynomials
  float sv = swap ? c : s;
  float cv = swap ? s : c;
  if (negative != ((j & 4) != 0)) sv = -sv;
  if (((j - 2) & 4) == 0) cv = -cv;
  *sin_out = sv;
  *cos_out = cv;
}

// One block of 16 uniforms -> 16 normals (ATen normal_fill_16_AVX2 with mean 0, std 1).
void normal_fill_16(float* data) {
  const float two_pi = float(2.0 * std::numbers::pi);
  for (int j = 0; j < 8; ++j) {
    const float radius = std::sqrt(-2.0f * cephes_logf(1.0f - data[j]));
    float sin_theta, cos_theta;
    cephes_sincosf(two_pi * data[j + 8], &sin_theta, &cos_theta);
    data[j] = radius * cos_theta;
    data[j + 8] = radius * sin_theta;
  }
}

}  // namespace

TorchGenerator::TorchGenerator(uint64_t seed) { manual_seed(seed); }

void TorchGenerator::manual_seed(uint64_t seed) {
  seed_ = seed;
  engine_.seed(uint32_t(seed & 0xffffffffu));
  next_double_normal_.reset();
}

uint32_t TorchGenerator::random() {
  check(samples_.empty(), "TorchGenerator::random: not available on per-sample generators");
  return uint32_t(engine_());
}

uint64_t TorchGenerator::random64() {
  const uint64_t hi = random();
  const uint64_t lo = random();
  return (hi << 32) | lo;
}

void TorchGenerator::normal_fill(float* data, int64_t n) {
  // at::uniform_real_distribution<float>(0, 1): 24 random bits scaled to [0, 1).
  auto uniform = [this] { return float(random() & 0xffffffu) * (1.0f / 16777216.0f); };
  for (int64_t i = 0; i < n; ++i) data[i] = uniform();
  for (int64_t i = 0; i + 16 <= n; i += 16) normal_fill_16(data + i);
  if (n % 16 != 0) {
    float* tail = data + n - 16;
    for (int i = 0; i < 16; ++i) tail[i] = uniform();
    normal_fill_16(tail);
  }
}

double TorchGenerator::normal_double() {
  if (next_double_normal_) {
    const double v = *next_double_normal_;
    next_double_normal_.reset();
    return v;
  }
  // at::uniform_real_distribution<double>(0, 1): 53 random bits scaled to [0, 1).
  auto uniform = [this] { return double(random64() & ((uint64_t(1) << 53) - 1)) * 0x1p-53; };
  const double u1 = uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  const double theta = 2.0 * std::numbers::pi * u1;
  next_double_normal_ = r * std::sin(theta);
  return r * std::cos(theta);
}

TorchGenerator TorchGenerator::per_sample(const std::vector<uint64_t>& seeds) {
  check(!seeds.empty(), "TorchGenerator::per_sample: no seeds");
  TorchGenerator g(seeds[0]);
  for (uint64_t s : seeds) g.samples_.emplace_back(s);
  return g;
}

Tensor TorchGenerator::randn(const Shape& shape) {
  for (int64_t d : shape) check(d >= 0, "TorchGenerator::randn: negative size in shape " + shape_string(shape));
  if (!samples_.empty()) {
    check(!shape.empty() && shape[0] == int64_t(samples_.size()),
          "TorchGenerator::randn: shape " + shape_string(shape) + " for " + std::to_string(samples_.size()) +
              " per-sample generators (the first dimension must be the batch)");
    Shape row = shape;
    row[0] = 1;
    std::vector<Tensor> rows;
    for (auto& g : samples_) rows.push_back(g.randn(row));
    return cat0(rows);
  }
  Tensor out(shape, DType::F32);
  float* data = out.f32();
  const int64_t n = out.numel();
  if (n >= 16) {
    normal_fill(data, n);
  } else {
    for (int64_t i = 0; i < n; ++i) data[i] = float(normal_double());
  }
  return out;
}

}  // namespace sdwalk
